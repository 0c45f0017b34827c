// Which Linux security modules this host runs: what a profile or a label asks for could only be
// applied there (hanok applies neither AppArmor nor SELinux yet, and refuses what asks for them).
#pragma once

namespace hanok::isolate {

// AppArmor is enabled: /sys/module/apparmor/parameters/enabled says "Y".
bool apparmor_enabled();
// SELinux is on: selinuxfs is mounted (/sys/fs/selinux/enforce exists).
bool selinux_enabled();

}  // namespace hanok::isolate
