#!/bin/sh
# scripts/embed.sh NAME FILE -- prints a C file defining `const char NAME[]`
# holding FILE's bytes and a final NUL (used to compile std/nn.g into graphc).
printf '/* generated from %s by scripts/embed.sh */\nconst char %s[] = {\n' "$2" "$1"
od -An -v -tx1 "$2" | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'
printf '0x00 };\n'
