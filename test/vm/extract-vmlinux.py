#!/usr/bin/env python3
"""Writes the uncompressed kernel (an ELF vmlinux) held in a Debian vmlinuz (a bzImage whose
payload is xz-compressed), so that QEMU can boot its PVH entry point without decompressing.
Usage: extract-vmlinux.py VMLINUZ VMLINUX. Exits 1 when no xz payload is found."""
import lzma
import sys

XZ_MAGIC = b"\xfd7zXZ\x00"


def main() -> int:
    source, target = sys.argv[1], sys.argv[2]
    data = open(source, "rb").read()
    start = data.find(XZ_MAGIC)
    if start < 0:
        print(f"extract-vmlinux: no xz payload in {source}", file=sys.stderr)
        return 1
    # The payload is followed by the bzImage's trailer: decompress the first stream only.
    kernel = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[start:])
    if not kernel.startswith(b"\x7fELF"):
        print(f"extract-vmlinux: the payload of {source} is not an ELF image", file=sys.stderr)
        return 1
    with open(target, "wb") as out:
        out.write(kernel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
