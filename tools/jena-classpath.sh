#!/usr/bin/env bash
# Print a Java classpath that runs Apache Jena's command-line tools from Debian's libapache-jena-java, e.g.
#     java -cp "$(tools/jena-classpath.sh)" riotcmd.riot --count FILE
# and create the small fix it needs first: the Debian build relocates Jena's bundled Xerces classes to the package
# `xerces.*` but leaves their message bundles under org/apache/jena/ext/xerces/…, so every XSD datatype check dies
# with "internal error" (a MissingResourceException at class initialisation). The bundles are copied, once, into a
# cache folder on the path the classes look in, and that folder goes first on the classpath.
# Exit 1 (and a message on stderr) when libapache-jena-java is not installed.
set -euo pipefail
core=/usr/share/java/jena-core.jar
[ -f "$core" ] || { echo "jena-classpath: $core not found (apt-get install libapache-jena-java)" >&2; exit 1; }
fix="${CRLM_KG_JENA_FIX:-${XDG_CACHE_HOME:-$HOME/.cache}/crlm-kg/jena-xerces-fix}"
if [ ! -f "$fix/xerces/impl/msg/XMLSchemaMessages.properties" ]; then
  python3 - "$core" "$fix" <<'PY'
import sys, zipfile, pathlib
core, fix = sys.argv[1], pathlib.Path(sys.argv[2])
prefix = "org/apache/jena/ext/xerces/"
with zipfile.ZipFile(core) as jar:
    for name in jar.namelist():
        if name.startswith(prefix) and name.endswith(".properties"):
            target = fix / "xerces" / name[len(prefix):]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(jar.read(name))
PY
fi
# the jars of libapache-jena-java and of the packages it depends on (two levels), one logging binding
pkgs=$(dpkg-query -W -f='${Depends}' libapache-jena-java | tr ',' '\n' | sed 's/^ *//;s/[ (].*//' | grep -v '^$' || true)
deps=$(for p in $pkgs; do dpkg-query -W -f='${Depends}' "$p" 2>/dev/null | tr ',' '\n' | sed 's/^ *//;s/[ (].*//'; done | grep -v '^$' || true)
jars=$(for p in libapache-jena-java $pkgs $deps; do dpkg -L "$p" 2>/dev/null; done \
  | grep -E '^/usr/share/java/[^/]+\.jar$' | grep -v -E -- '-[0-9][0-9.]*(-[a-z]+)?\.jar$' \
  | grep -v -E '/(slf4j-(nop|jcl|log4j12|jdk14|migrator|reload4j)|log4j-over-slf4j|jul-to-slf4j|jcl-over-slf4j|commons-logging-adapters)[^/]*\.jar$' \
  | sort -u)
simple=/usr/share/java/slf4j-simple.jar
[ -f "$simple" ] && jars="$jars"$'\n'"$simple"
printf '%s' "$fix"
printf ':%s' $jars
printf '\n'
