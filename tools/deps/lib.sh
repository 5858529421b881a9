# Shared helpers of tools/deps/*.sh (sourced, not run).

die() { echo "l4ua: error: $*" >&2; exit 1; }

# A cached tree is trusted only if its manifest exists and every file in it
# still has the checksum recorded when the tree was complete.
manifest_ok() {
    [ -f "$1/.l4ua-manifest" ] || return 1
    (cd "$1" && sha256sum --quiet --strict -c .l4ua-manifest >/dev/null 2>&1) || {
        echo "l4ua: cache entry $1 is corrupt or partial; rebuilding it" >&2
        return 1
    }
}

write_manifest() {
    (cd "$1" && find . -type f ! -name '.l4ua-manifest*' -print0 | sort -z |
        xargs -0 -r sha256sum > ../.l4ua-manifest.$$ && mv ../.l4ua-manifest.$$ .l4ua-manifest)
}

# Move a finished tree into place (replacing a stale one), manifest last.
replace_dir() {
    write_manifest "$1"
    rm -rf "$2.old"
    [ -e "$2" ] && mv "$2" "$2.old"
    mv "$1" "$2"
    rm -rf "$2.old"
}

# Stops the build if Debian serves another version than the pinned one.
check_version() {  # pkg pinned served
    [ -n "$3" ] || die "Debian serves no package '$1' in $DEBIAN_SUITE"
    if [ "$2" != "$3" ]; then
        die "Debian serves $1 $3, but tools/deps/versions.mk pins $2.
       Change the pin there (see docs/build.md) after checking the new version."
    fi
}
