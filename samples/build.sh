#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# samples/build.sh - build the kmodkit sample kernel modules and regenerate
# everything under samples/ko/ and samples/keys/.
#
# Usage:   bash samples/build.sh
#          KMODKIT_ABI=6.1.0-NN-amd64 bash samples/build.sh
#
# What it does (safe to re-run; every run rebuilds from scratch):
#
#   1. Kernel ABI: the linux-headers-<ABI> package that Debian's
#      linux-headers-amd64 metapackage currently depends on (apt-cache), or
#      $KMODKIT_ABI when set.  Installs linux-headers-<ABI> with apt-get when
#      it is missing, plus any missing tool (openssl, xz, zstd, gzip, make).
#   2. Copies samples/src/ into the scratch dir samples/.build/ (git-ignored)
#      and builds the modules out of tree with kbuild, in two passes:
#        main      hello, kmodkit_params, kmodkit_exporter, kmodkit_consumer,
#                  kmodkit_initfail (modpost with the kernel's default rules);
#        nsmissing kmodkit_nsmissing, with
#                  CONFIG_MODULE_ALLOW_MISSING_NAMESPACE_IMPORTS=y so modpost
#                  only warns about the deliberately missing import.
#   3. Writes samples/ko/ (wiped first):
#        <name>.ko                 as linked by kbuild (unsigned, not stripped)
#        <name>.ko.gz|.xz|.zst     compressed exactly like modules_install:
#                                    gzip -n -f
#                                    xz --check=crc32 --lzma2=dict=1MiB -f
#                                    zstd -T0 --rm -f -q
#        xz-crc64/hello.ko.xz      xz --lzma2=dict=2MiB -f, i.e. the default
#                                  CRC64 check (the pre-6.6 kbuild rule; such
#                                  files cannot be decompressed by the kernel)
#        signed/<name>.ko          RSA-2048 + sha256, every module
#        signed/hello.ko.gz|.xz|.zst  signed first, then compressed
#        signed/sha512/hello.ko    RSA-2048 + sha512
#        signed/ecdsa/hello.ko     ECDSA P-256 + sha256
#        BUILD-INFO                ABI, kernel release, compiler, tools, date
#      Signing uses the kernel's own scripts/sign-file shipped by Debian's
#      linux-kbuild-X.Y package; if it cannot be found, an equivalent
#      `openssl cms` implementation of the same trailer format is used.
#      (KMODKIT_SIGN_FILE=openssl forces that fallback, KMODKIT_SIGN_FILE=/path
#      selects another sign-file.)  The signing keys are throw-away keys generated on every run with
#      openssl; private keys stay in samples/.build/keys/.
#   4. Writes samples/keys/{rsa,ecdsa}.{pem,der}: the public X.509
#      certificates only (wiped first).
#   5. Self-checks the results (signature trailers verify against the
#      certificates, xz integrity checks, modinfo fields when kmod's modinfo
#      is installed) and fails loudly if anything is off.
#
# Needs root only to install missing packages.  Exit status 0 on success.

set -euo pipefail
shopt -s nullglob

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src_dir=$here/src
# KMODKIT_SAMPLES_OUT=DIR writes DIR/ko and DIR/keys (scratch in DIR/.build)
# instead of samples/ko and samples/keys: the QEMU tier builds samples for a
# kernel ABI other than the committed one there (test/qemu/vm.ts).
if [[ -n ${KMODKIT_SAMPLES_OUT:-} ]]; then
	build_dir=$KMODKIT_SAMPLES_OUT/.build
	out_dir=$KMODKIT_SAMPLES_OUT/ko
	keys_out=$KMODKIT_SAMPLES_OUT/keys
else
	build_dir=$here/.build
	out_dir=$here/ko
	keys_out=$here/keys
fi

# Main-pass and nsmissing-pass module names (must match src/Makefile).
main_modules=(hello kmodkit_params kmodkit_exporter kmodkit_consumer kmodkit_initfail)
ns_modules=(kmodkit_nsmissing)
all_modules=("${main_modules[@]}" "${ns_modules[@]}")

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build.sh: error: %s\n' "$*" >&2; exit 1; }

apt_install() {
	[[ $(id -u) -eq 0 ]] || die "need root to install: $*"
	command -v apt-get >/dev/null || die "apt-get not found; install manually: $*"
	log "apt-get install $*"
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y "$@" >&2
}

# --- 1. kernel ABI and headers ----------------------------------------------

if [[ -n ${KMODKIT_ABI:-} ]]; then
	abi=$KMODKIT_ABI
else
	command -v apt-cache >/dev/null ||
		die "apt-cache not found: set KMODKIT_ABI=6.1.0-NN-amd64"
	abi=$(apt-cache depends linux-headers-amd64 2>/dev/null |
		sed -n 's/^ *Depends: linux-headers-\([^ ]*-amd64\)$/\1/p' | head -n 1)
	[[ -n $abi ]] ||
		die "cannot resolve linux-headers-amd64 (run apt-get update, or set KMODKIT_ABI)"
fi
[[ $abi =~ ^[0-9]+\.[0-9]+\.[0-9]+-[0-9]+-[a-z0-9-]+$ ]] ||
	die "KMODKIT_ABI '$abi' does not look like 6.1.0-NN-amd64"
log "kernel ABI: $abi"

headers_pkg=linux-headers-$abi
if ! dpkg-query -W -f='${Status}' "$headers_pkg" 2>/dev/null | grep -q 'install ok installed'; then
	apt_install "$headers_pkg"
fi
kdir=/usr/src/$headers_pkg
[[ -f $kdir/Makefile ]] || die "$kdir/Makefile missing after installing $headers_pkg"

# Tools, by command -> Debian package.
declare -A tool_pkgs=([make]=make [openssl]=openssl [xz]=xz-utils [zstd]=zstd [gzip]=gzip)
missing=()
for tool in "${!tool_pkgs[@]}"; do
	command -v "$tool" >/dev/null || missing+=("${tool_pkgs[$tool]}")
done
((${#missing[@]} == 0)) || apt_install "${missing[@]}"

# Debian's scripts/sign-file lives in linux-kbuild-<major.minor>.
kver_mm=$(sed -n 's/^\([0-9]*\.[0-9]*\).*/\1/p' <<<"$abi")
# KMODKIT_SIGN_FILE=openssl forces the fallback, =/path picks a sign-file.
sign_file=
if [[ ${KMODKIT_SIGN_FILE:-} == openssl ]]; then
	:
elif [[ -n ${KMODKIT_SIGN_FILE:-} ]]; then
	[[ -x $KMODKIT_SIGN_FILE ]] || die "KMODKIT_SIGN_FILE=$KMODKIT_SIGN_FILE is not executable"
	sign_file=$KMODKIT_SIGN_FILE
else
	for cand in "$kdir/scripts/sign-file" "/usr/lib/linux-kbuild-$kver_mm/scripts/sign-file"; do
		if [[ -x $cand ]]; then
			sign_file=$(readlink -f "$cand")
			break
		fi
	done
fi
[[ -n $sign_file ]] || log "signing with the openssl cms fallback (no scripts/sign-file)"

# --- 2. build -------------------------------------------------------------------

jobs=$(nproc 2>/dev/null || echo 2)
# Keep the scratch path out of the DWARF info so rebuilds from any checkout
# produce the same bytes.
kcflags="-ffile-prefix-map=$build_dir/=kmodkit-samples/"

rm -rf "$build_dir"
mkdir -p "$build_dir/main" "$build_dir/nsmissing" "$build_dir/keys" "$build_dir/stage"
cp -a "$src_dir/." "$build_dir/main/"
cp -a "$src_dir/Makefile" "$src_dir/kmodkit_exporter.h" "$src_dir/kmodkit_nsmissing.c" \
	"$build_dir/nsmissing/"

log "building main modules against $kdir"
make -C "$kdir" M="$build_dir/main" KCFLAGS="$kcflags" -j"$jobs" modules >&2
log "building kmodkit_nsmissing (modpost: missing namespace imports allowed)"
make -C "$kdir" M="$build_dir/nsmissing" KCFLAGS="$kcflags" -j"$jobs" \
	KMODKIT_PASS=nsmissing CONFIG_MODULE_ALLOW_MISSING_NAMESPACE_IMPORTS=y \
	KBUILD_EXTRA_SYMBOLS="$build_dir/main/Module.symvers" modules >&2

built_ko() { # name -> path of the freshly built .ko
	local name=$1
	if [[ " ${ns_modules[*]} " == *" $name "* ]]; then
		echo "$build_dir/nsmissing/$name.ko"
	else
		echo "$build_dir/main/$name.ko"
	fi
}
for m in "${all_modules[@]}"; do
	[[ -f $(built_ko "$m") ]] || die "kbuild did not produce $m.ko"
done

# --- 3a. throw-away signing keys -----------------------------------------------

gen_key() { # kind cn newkey-args...
	local kind=$1 cn=$2
	shift 2
	cat >"$build_dir/keys/$kind.genkey" <<-EOF
		[ req ]
		distinguished_name = dn
		prompt = no
		string_mask = utf8only
		x509_extensions = exts

		[ dn ]
		O = kmodkit samples
		CN = $cn
		emailAddress = samples@kmodkit.invalid

		[ exts ]
		basicConstraints = critical,CA:FALSE
		keyUsage = digitalSignature
		subjectKeyIdentifier = hash
		authorityKeyIdentifier = keyid
	EOF
	openssl req -new -x509 -nodes -utf8 -sha256 -days 36500 -batch \
		-config "$build_dir/keys/$kind.genkey" "$@" \
		-keyout "$build_dir/keys/$kind.key" -out "$build_dir/keys/$kind.pem" 2>/dev/null
	openssl x509 -in "$build_dir/keys/$kind.pem" -outform DER -out "$build_dir/keys/$kind.der"
}
log "generating throw-away RSA-2048 and ECDSA P-256 keys"
gen_key rsa "kmodkit throw-away RSA sample signing key" -newkey rsa:2048
gen_key ecdsa "kmodkit throw-away ECDSA sample signing key" \
	-newkey ec -pkeyopt ec_paramgen_curve:prime256v1

# --- 3b. signing ------------------------------------------------------------------

# Same layout as scripts/sign-file: module | PKCS#7 DER | struct
# module_signature {algo 0, hash 0, id_type 2, signer_len 0, key_id_len 0,
# pad[3], __be32 sig_len} | "~Module signature appended~\n".
sign_with_openssl() { # hash key cert in out
	local hash=$1 key=$2 cert=$3 in=$4 out=$5 p7=$build_dir/stage/sig.p7
	openssl cms -sign -binary -noattr -nocerts -nosmimecap -outform DER -md "$hash" \
		-signer "$cert" -inkey "$key" -in "$in" -out "$p7"
	local len
	len=$(stat -c %s "$p7")
	{
		cat "$in" "$p7"
		printf '\x00\x00\x02\x00\x00\x00\x00\x00'
		printf "\\x$(printf %02x $((len >> 24 & 255)))\\x$(printf %02x $((len >> 16 & 255)))"
		printf "\\x$(printf %02x $((len >> 8 & 255)))\\x$(printf %02x $((len & 255)))"
		printf '~Module signature appended~\n'
	} >"$out"
}

sign_module() { # hash kind in out
	local hash=$1 kind=$2 in=$3 out=$4
	local key=$build_dir/keys/$kind.key cert=$build_dir/keys/$kind.pem
	mkdir -p "$(dirname "$out")"
	if [[ -n $sign_file ]]; then
		"$sign_file" "$hash" "$key" "$cert" "$in" "$out"
	else
		sign_with_openssl "$hash" "$key" "$cert" "$in" "$out"
	fi
	chmod 0644 "$out"
}

# --- 3c. compression exactly as modules_install (Linux >= 6.6 rules) ------------

compress_like_kbuild() { # format in.ko out-dir
	local fmt=$1 in=$2 dest=$3 name stage
	name=$(basename "$in")
	stage=$build_dir/stage/$fmt
	rm -rf "$stage"
	mkdir -p "$stage" "$dest"
	cp "$in" "$stage/$name"
	case $fmt in
	gz) (cd "$stage" && gzip -n -f "$name") ;;
	xz) (cd "$stage" && xz --check=crc32 --lzma2=dict=1MiB -f "$name") ;;
	xz-crc64) (cd "$stage" && xz --lzma2=dict=2MiB -f "$name") ;;
	zst) (cd "$stage" && zstd -T0 --rm -f -q "$name") ;;
	*) die "unknown format $fmt" ;;
	esac
	local ext=${fmt%-crc64}
	install -m 0644 "$stage/$name.$ext" "$dest/$name.$ext"
}

# --- 3d. write samples/ko and samples/keys ----------------------------------------

log "writing $out_dir and $keys_out"
rm -rf "$out_dir" "$keys_out"
mkdir -p "$out_dir/signed" "$out_dir/xz-crc64" "$keys_out"

for m in "${all_modules[@]}"; do
	ko=$(built_ko "$m")
	install -m 0644 "$ko" "$out_dir/$m.ko"
	for fmt in gz xz zst; do
		compress_like_kbuild "$fmt" "$out_dir/$m.ko" "$out_dir"
	done
	sign_module sha256 rsa "$out_dir/$m.ko" "$out_dir/signed/$m.ko"
done
compress_like_kbuild xz-crc64 "$out_dir/hello.ko" "$out_dir/xz-crc64"
for fmt in gz xz zst; do
	compress_like_kbuild "$fmt" "$out_dir/signed/hello.ko" "$out_dir/signed"
done
sign_module sha512 rsa "$out_dir/hello.ko" "$out_dir/signed/sha512/hello.ko"
sign_module sha256 ecdsa "$out_dir/hello.ko" "$out_dir/signed/ecdsa/hello.ko"

for kind in rsa ecdsa; do
	install -m 0644 "$build_dir/keys/$kind.pem" "$keys_out/$kind.pem"
	install -m 0644 "$build_dir/keys/$kind.der" "$keys_out/$kind.der"
done

# --- 3d'. Module.symvers of the samples (what modpost wrote), with the
#          scratch path replaced so the file is the same on every machine
sed "s|$build_dir/main/|samples/src/|" "$build_dir/main/Module.symvers" >"$out_dir/Module.symvers"

# --- 3e. BUILD-INFO -----------------------------------------------------------------

uts_release=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$kdir/include/generated/utsrelease.h")
pkg_version=$(dpkg-query -W -f='${Version}' "$headers_pkg" 2>/dev/null || echo unknown)
cc_text=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$kdir/include/config/auto.conf")
comment=$(readelf -p .comment "$out_dir/hello.ko" 2>/dev/null |
	sed -n 's/^ *\[ *[0-9a-f]*\] *//p' | sort -u | paste -sd ';' -)
cat >"$out_dir/BUILD-INFO" <<EOF
kmodkit sample modules - build information (generated by samples/build.sh)

abi:              $abi
kernel release:   $uts_release
kernel version:   $(cat "$kdir/include/config/kernel.release")
vermagic:         $(strings -a "$out_dir/hello.ko" | sed -n 's/^vermagic=//p' | head -n 1)
headers package:  $headers_pkg $pkg_version
kernel built by:  $cc_text
modules built by: $comment
sign-file:        ${sign_file:-"(none: openssl cms fallback)"}
openssl:          $(openssl version)
gzip:             $(gzip --version | head -n 1)
xz:               $(xz --version | head -n 1)
zstd:             $(zstd --version | head -n 1 | sed 's/^\*\*\* //; s/ \*\*\*$//')
date:             $(date -u +%Y-%m-%dT%H:%M:%SZ)
EOF

# --- 5. self-checks ---------------------------------------------------------------

log "verifying"
# Signature trailer: parse it and verify the PKCS#7 against the certificate.
verify_signed() { # file cert
	local f=$1 cert=$2 size siglen body
	size=$(stat -c %s "$f")
	[[ $(tail -c 28 "$f") == "~Module signature appended~" ]] || die "$f: no signature marker"
	local hdr
	hdr=$(tail -c 40 "$f" | head -c 12 | od -An -tu1 | tr -s ' ' | sed 's/^ //')
	read -r -a b <<<"$hdr"
	[[ "${b[*]:0:8}" == "0 0 2 0 0 0 0 0" ]] || die "$f: unexpected module_signature header: $hdr"
	siglen=$(((b[8] << 24) | (b[9] << 16) | (b[10] << 8) | b[11]))
	body=$((size - 40 - siglen))
	head -c "$body" "$f" >"$build_dir/stage/content"
	tail -c "$((siglen + 40))" "$f" | head -c "$siglen" >"$build_dir/stage/sig.der"
	openssl cms -verify -binary -inform DER -in "$build_dir/stage/sig.der" \
		-content "$build_dir/stage/content" -certfile "$cert" -nointern -noverify \
		-out /dev/null 2>/dev/null || die "$f: signature does not verify against $cert"
}
for m in "${all_modules[@]}"; do
	verify_signed "$out_dir/signed/$m.ko" "$keys_out/rsa.pem"
	cmp -s <(head -c "$(stat -c %s "$out_dir/$m.ko")" "$out_dir/signed/$m.ko") "$out_dir/$m.ko" ||
		die "signed/$m.ko does not start with $m.ko"
done
verify_signed "$out_dir/signed/sha512/hello.ko" "$keys_out/rsa.pem"
verify_signed "$out_dir/signed/ecdsa/hello.ko" "$keys_out/ecdsa.pem"

# Compressed copies decompress to the right bytes; xz integrity checks as intended.
for f in "$out_dir"/*.ko.* "$out_dir"/signed/*.ko.* "$out_dir"/xz-crc64/*.ko.xz; do
	case $f in
	*.gz) cat_cmd=(gzip -dc) ;;
	*.xz) cat_cmd=(xz -dc) ;;
	*.zst) cat_cmd=(zstd -dcq) ;;
	esac
	case $f in
	*/xz-crc64/*) orig=$out_dir/${f##*/} ;;
	*) orig=${f%.*} ;;
	esac
	cmp -s <("${cat_cmd[@]}" "$f") "${orig%.xz}" || die "$f does not decompress to ${orig%.xz}"
	if [[ $f == *.xz ]]; then
		want=CRC32
		[[ $f == */xz-crc64/* ]] && want=CRC64
		check=$(xz --robot -l "$f" | awk -F'\t' '$1 == "totals" { print $7 }')
		[[ $check == "$want" ]] || die "$f: xz check is '$check', expected $want"
	fi
done

if command -v modinfo >/dev/null; then
	kmod_features=$(modinfo --version 2>/dev/null | tail -n 1)
	skipped=()
	for f in "$out_dir"/*.ko "$out_dir"/*.ko.* "$out_dir"/signed/*.ko* \
		"$out_dir"/signed/*/*.ko "$out_dir"/xz-crc64/*.ko.xz; do
		base=${f##*/}
		name=${base%%.ko*}
		# Debian 12's kmod 30 is built without zlib ("-ZLIB"): skip what it cannot read.
		case $base in
		*.gz) feat=ZLIB ;; *.xz) feat=XZ ;; *.zst) feat=ZSTD ;; *) feat= ;;
		esac
		if [[ -n $feat && $kmod_features != *"+$feat"* ]]; then
			skipped+=("$base")
			continue
		fi
		got=$(modinfo -F name "$f" 2>/dev/null) || got=
		[[ $got == "$name" ]] || die "modinfo $f: name '$got', expected '$name'"
		[[ $(modinfo -F vermagic "$f") == "$uts_release "* ]] || die "modinfo $f: wrong vermagic"
		if [[ $f == */signed/* ]]; then
			[[ $(modinfo -F sig_id "$f") == "PKCS#7" ]] || die "modinfo $f: no PKCS#7 signature"
		fi
	done
	((${#skipped[@]} == 0)) ||
		log "modinfo ($kmod_features) cannot read, not checked: ${skipped[*]}"
else
	log "kmod's modinfo not installed: skipped the modinfo checks (apt-get install kmod)"
fi

log "done: $(find "$out_dir" "$keys_out" -type f | wc -l) files in samples/ko and samples/keys (ABI $abi)"
