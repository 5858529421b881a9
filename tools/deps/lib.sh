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

# A private apt configuration under $APTDIR (set by the caller): Debian's
# archive for $DEBIAN_SUITE as the only source, lists and cache there,
# never the machine's apt configuration. Sets APTOPTS for apt-get and
# apt-cache; updates the lists once (messages on stderr).
apt_private() {
    mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial" "$APTDIR/parts"
    cat > "$APTDIR/parts/l4ua.sources" <<EOS
Types: deb deb-src
URIs: $DEBIAN_MIRROR
Suites: $DEBIAN_SUITE
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
    APTOPTS="-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$APTDIR/parts \
-o Dir::State::Lists=$APTDIR/lists -o Dir::Cache=$APTDIR/cache \
-o APT::Sandbox::User=root -o Debug::NoLocking=1"
    if [ ! -e "$APTDIR/updated" ]; then
        echo "l4ua: apt-get update (private source list in $APTDIR)" >&2
        # shellcheck disable=SC2086
        apt-get -q $APTOPTS update >"$APTDIR/update.log" 2>&1 ||
            { cat "$APTDIR/update.log" >&2; die "apt-get update of the private source list failed"; }
        touch "$APTDIR/updated"
    fi
}
