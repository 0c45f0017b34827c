/* hanok-probe: a static helper in the test rootfs for what busybox cannot do from a shell.
 *   hanok-probe syscall NR [ARG...]   makes system call NR (decimal arguments) and prints
 *                                     "ok" or "errno N" (as the seccomp tests read it) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc >= 3 && strcmp(argv[1], "syscall") == 0) {
    long args[6] = {0};
    for (int i = 3; i < argc && i < 9; ++i) args[i - 3] = strtol(argv[i], NULL, 0);
    long rc =
        syscall(strtol(argv[2], NULL, 10), args[0], args[1], args[2], args[3], args[4], args[5]);
    if (rc < 0) {
      printf("errno %d\n", errno);
    } else {
      printf("ok\n");
    }
    return 0;
  }
  fprintf(stderr, "usage: %s syscall NR [ARG...]\n", argv[0]);
  return 2;
}
