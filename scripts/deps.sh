#!/bin/sh
# scripts/deps.sh -- checks that the build's tools and libraries are present.
# As root it installs what is missing with apt-get; otherwise it prints the
# exact command to run and fails.
PKGS=""
need() { # need <package> <test...>
    pkg=$1; shift
    if ! "$@" >/dev/null 2>&1; then PKGS="$PKGS $pkg"; fi
}
hdr() { test -f "/usr/include/$1"; }
need gcc command -v gcc
need make command -v make
need flex command -v flex
need bison command -v bison
need protobuf-c-compiler command -v protoc-c
need libprotobuf-c-dev hdr protobuf-c/protobuf-c.h
need libcmocka-dev hdr cmocka.h
need libdnnl-dev hdr oneapi/dnnl/dnnl.h
need zlib1g-dev hdr zlib.h
# Fashion-MNIST (IDX files): the training samples, the demo and an IDX test
need dataset-fashion-mnist test -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
[ -z "$PKGS" ] && exit 0
CMD="apt-get install -y$PKGS"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing$PKGS"
    export DEBIAN_FRONTEND=noninteractive
    (apt-get install -y -q $PKGS || { apt-get update -q && apt-get install -y -q $PKGS; }) >&2 || {
        echo "deps: '$CMD' failed" >&2; exit 1; }
    exit 0
fi
echo "deps: missing:$PKGS" >&2
echo "deps: run as root:  sudo $CMD" >&2
exit 1
