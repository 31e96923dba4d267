#!/usr/bin/env bash
# Ordering mutation test of lockstep-core: weaken one memory ordering at a time in core/src and
# check that the core's simulator checks notice.
#
#   scripts/ordering-mutations.sh                 # every mutant; prints "caught N of M (P%)"
#   scripts/ordering-mutations.sh --list          # only list the mutants
#   scripts/ordering-mutations.sh --only rendezvous --timeout 120
#   scripts/ordering-mutations.sh --min 90        # exit 1 below 90%
#
# Options:
#   --list             list the mutants (file:line:column, from->to, operation) and exit
#   --only REGEX       keep the mutants whose "path:line" matches REGEX (an awk extended regular
#                      expression): `--only mutex`, `--only 'channel/'`,
#                      `--only 'rendezvous.rs:2[0-9][0-9]$'`
#   --timeout SECS     per-mutant limit on the test run (the build is not limited). Default: ten
#                      times the unmutated run, at least 60 s. A mutant that hits it counts as
#                      caught (the weakened ordering made a check hang: a lost wake-up, a livelock)
#                      and its line says "caught (timeout)".
#   --min PERCENT      exit 1 if the score is below PERCENT (default 0)
#   --cargo-args ARGS  extra arguments for `cargo test`, split on spaces (also from the environment
#                      variable ORDERING_MUTATIONS_CARGO_ARGS), e.g. `--release`; those after a `--`
#                      go to the test binaries, e.g. `-- --test-threads=1`
#   -h, --help         this text
#
# Environment: ORDERING_MUTATIONS_TARGET_DIR (default target/ordering-mutations) is the cargo target
# directory of the scratch builds; LOCKSTEP_TEST_SCALE and the like reach the tests unchanged.
#
# The check run for every mutant is the core's simulator checks, the files core/tests/sim*.rs:
#
#   cargo test -p lockstep-core --features sim,async --test 'sim*'
#
# A mutant is caught if that command fails (or times out), survived if it passes.
#
# What counts as a site: every `Relaxed`, `Acquire`, `Release`, `AcqRel` or `SeqCst` token in a
# .rs file under core/src, whether written `Ordering::SeqCst` or imported short (`SeqCst`), except
# in comments (doc comments and their examples included), string literals, `use` declarations and
# `#[cfg(test)]` items. Each token is one site, so compare_exchange's success and failure orderings
# are two sites, and so are fetch_update's two. An ordering passed to a helper function is mutated
# where it is written (the call site), since that is where the choice is made, and its operation
# is read from the helper's name (`load`, `store`, `fence`, `swap`/`fetch`/`compare`/`cas`/`rmw` in
# it); core/src/sync.rs re-exports the atomics and defines no such helper today. Relaxed sites have
# no weaker ordering and make no mutant. The mutations, one mutant each:
#
#   Acquire -> Relaxed, Release -> Relaxed, AcqRel -> Acquire and AcqRel -> Release (two mutants),
#   SeqCst -> the next weaker ordering its operation accepts: a load (and a compare-exchange's
#   failure ordering, fetch_update's fetch ordering) -> Acquire, a store -> Release, a
#   read-modify-write (swap, fetch_*, a compare-exchange's success ordering) -> AcqRel,
#   a fence -> AcqRel.
#
# A SeqCst whose operation the script cannot tell (not an argument of one of those methods) is
# reported on stderr and skipped.
#
# The working tree is never modified: the script copies the tracked and untracked (not ignored)
# files into a temporary directory, mutates the copy one file at a time (restoring it after each
# run), and deletes it on exit, Ctrl-C included. Uncommitted edits are therefore tested too.
# The unmutated code is built and checked first; the script stops (exit 2) if that fails.
#
# Exit status: 0 if the score is at least --min, 1 if below, 2 on a usage or setup error (or if a
# mutant failed to build, which means this script made a wrong edit).
#
# Needs bash, git, python3 (to find the sites), awk, timeout (coreutils) and cargo.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

list=0
only=""
timeout_s=""
min=0
flag_cargo_args=""
while [ $# -gt 0 ]; do
    case "$1" in
    --list) list=1 ;;
    --only) only="${2:?--only needs a pattern}"; shift ;;
    --only=*) only="${1#*=}" ;;
    --timeout) timeout_s="${2:?--timeout needs seconds}"; shift ;;
    --timeout=*) timeout_s="${1#*=}" ;;
    --min) min="${2:?--min needs a percentage}"; shift ;;
    --min=*) min="${1#*=}" ;;
    --cargo-args) flag_cargo_args="$flag_cargo_args ${2?--cargo-args needs arguments}"; shift ;;
    --cargo-args=*) flag_cargo_args="$flag_cargo_args ${1#*=}" ;;
    -h | --help) usage; exit 0 ;;
    *) echo "ordering-mutations: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
if [ -n "$timeout_s" ] && ! [[ "$timeout_s" =~ ^[1-9][0-9]*$ ]]; then
    echo "ordering-mutations: --timeout must be a whole number of seconds, got '$timeout_s'" >&2
    exit 2
fi
if ! [[ "$min" =~ ^[0-9]+([.][0-9]+)?$ ]] || awk -v m="$min" 'BEGIN { exit !(m > 100) }'; then
    echo "ordering-mutations: --min must be a percentage from 0 to 100, got '$min'" >&2
    exit 2
fi
for tool in git python3 awk timeout cargo; do
    command -v "$tool" >/dev/null || { echo "ordering-mutations: needs '$tool' on PATH" >&2; exit 2; }
done

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

# Lists the mutants of the .rs files under core/src of the tree at $1, one per line:
# path <TAB> line <TAB> byte column (1-based) <TAB> from <TAB> to <TAB> operation <TAB> replacement text
find_mutants() {
    python3 - "$1" <<'PY'
import os, re, sys

root = sys.argv[1]
ORDERINGS = ("Relaxed", "Acquire", "Release", "AcqRel", "SeqCst")
TOKEN = re.compile(r"\b(Relaxed|Acquire|Release|AcqRel|SeqCst)\b")
LOAD = {"load"}
STORE = {"store"}
FENCE = {"fence", "compiler_fence"}
RMW = {"swap", "fetch_add", "fetch_sub", "fetch_and", "fetch_or", "fetch_xor", "fetch_nand",
       "fetch_max", "fetch_min", "compare_and_swap"}
CAS = {"compare_exchange", "compare_exchange_weak"}


def blank(s):
    return "".join("\n" if c == "\n" else " " for c in s)


def strip(src):
    """The source with comments and string/char literals blanked (positions kept)."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(blank(src[i:j])); i = j
        elif src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j): depth += 1; j += 2
                elif src.startswith("*/", j): depth -= 1; j += 2
                else: j += 1
            out.append(blank(src[i:j])); i = j
        elif c == "r" and re.match(r'r#*"', src[i:]) and (i == 0 or not (src[i-1].isalnum() or src[i-1] == "_")):
            hashes = re.match(r'r(#*)"', src[i:]).group(1)
            end = src.find('"' + hashes, i + 2 + len(hashes))
            j = n if end < 0 else end + 1 + len(hashes)
            out.append(blank(src[i:j])); i = j
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            out.append(blank(src[i:j + 1])); i = j + 1
        elif c == "'":
            # a char literal ('x', '\n', '\u{1F600}') or a lifetime ('a)
            m = re.match(r"'(\\[^']*|[^\\'])'", src[i:])
            if m:
                out.append(blank(m.group(0))); i += len(m.group(0))
            else:
                out.append(c); i += 1
        else:
            out.append(c); i += 1
    return "".join(out)


def matching(text, i):
    """Index just past the bracket that closes the one at i."""
    depth = 0
    for j in range(i, len(text)):
        if text[j] in "([{": depth += 1
        elif text[j] in ")]}":
            depth -= 1
            if depth == 0: return j + 1
    return len(text)


def drop_items(text):
    # `use` declarations: imports name orderings but are not sites.
    text = re.sub(r"\buse\b[^;]*;", lambda m: blank(m.group(0)), text)
    # `#[cfg(test)]` items: a module, a function, an impl (up to its closing brace or `;`).
    while True:
        m = re.search(r"#\s*\[\s*cfg\s*\(\s*test\s*\)\s*\]", text)
        if not m: return text
        j = m.end()
        while j < len(text) and text[j] not in "{;": j += 1
        end = matching(text, j) if j < len(text) and text[j] == "{" else j + 1
        text = text[:m.start()] + blank(text[m.start():end]) + text[end:]


def context(text, p):
    """(callee, argument index) of the call whose argument list holds position p."""
    depth, commas = 0, 0
    for j in range(p - 1, -1, -1):
        c = text[j]
        if c in ")]}": depth += 1
        elif c in "([{":
            if depth == 0:
                if c != "(": return None, None
                m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*(::\s*<[^()]*>\s*)?$", text[:j])
                return (m.group(1) if m else None), commas
            depth -= 1
        elif c == "," and depth == 0: commas += 1
        elif c == ";" and depth == 0: return None, None
    return None, None


def operation(callee, arg):
    if callee in LOAD: return "load"
    if callee in STORE: return "store"
    if callee in FENCE: return "fence"
    if callee in RMW: return "rmw " + callee
    if callee in CAS:
        return {2: "cas success", 3: "cas failure"}.get(arg, "?")
    if callee == "fetch_update":
        return {0: "rmw fetch_update", 1: "fetch_update load"}.get(arg, "?")
    # A helper that passes the ordering on, by its name (`load_flag`, `store_release`, ...).
    if callee:
        for words, op in ((("fence",), "fence"), (("swap", "fetch", "compare", "cas", "rmw"), "rmw"),
                          (("load",), "load"), (("store",), "store")):
            if any(w in callee for w in words):
                return f"{op} (helper {callee})"
    return "?"


def weaker(ordering, op):
    if ordering in ("Acquire", "Release"): return ["Relaxed"]
    if ordering == "AcqRel": return ["Acquire", "Release"]
    if ordering == "SeqCst":
        if op in ("load", "cas failure", "fetch_update load"): return ["Acquire"]
        if op == "store": return ["Release"]
        if op.startswith("load"): return ["Acquire"]
        if op.startswith("store"): return ["Release"]
        if op.startswith("fence") or op.startswith("rmw") or op == "cas success": return ["AcqRel"]
        return None  # unknown operation
    return []  # Relaxed: nothing weaker


sites = relaxed = skipped = 0
rows = []
for dirpath, dirnames, filenames in os.walk(os.path.join(root, "core", "src")):
    dirnames.sort()
    for name in sorted(filenames):
        if not name.endswith(".rs"): continue
        path = os.path.join(dirpath, name)
        rel = os.path.relpath(path, root)
        with open(path, encoding="utf-8") as f:
            src = f.read()
        text = drop_items(strip(src))
        starts = [0] + [m.end() for m in re.finditer("\n", src)]
        for m in TOKEN.finditer(text):
            sites += 1
            p = m.start()
            line = max(k for k, s in enumerate(starts) if s <= p)
            prefix = src[starts[line]:p]
            col = len(prefix.encode("utf-8")) + 1
            callee, arg = context(text, p)
            op = operation(callee, arg)
            ordering = m.group(1)
            to = weaker(ordering, op)
            if to is None:
                print(f"ordering-mutations: {rel}:{line + 1}:{col}: SeqCst passed to "
                      f"'{callee or '?'}', an operation this script does not know: skipped",
                      file=sys.stderr)
                skipped += 1
                continue
            if not to: relaxed += 1
            # A short name (`SeqCst`, imported by a `use`) is replaced by a full path, since the
            # weaker name may not be imported; `Ordering::SeqCst` only has its last segment replaced.
            qualified = re.search(r"::\s*$", text[starts[line]:p]) is not None
            for t in to:
                text_to = t if qualified else "crate::sync::atomic::Ordering::" + t
                rows.append(f"{rel}\t{line + 1}\t{col}\t{ordering}\t{t}\t{op}\t{text_to}")
print("\n".join(rows))
unknown = f", {skipped} skipped (operation unknown)" if skipped else ""
print(f"# {sites} ordering sites in core/src, {relaxed} of them Relaxed (nothing weaker){unknown}: "
      f"{len(rows)} mutants")
PY
}

mutants_file="$(mktemp)"
scratch=""
child=""
cleanup() {
    if [ -n "$child" ]; then
        kill -TERM "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
    fi
    rm -f "$mutants_file" "$mutants_file.all" "$mutants_file.only"
    if [ -n "$scratch" ]; then rm -rf "$scratch"; fi
}
trap cleanup EXIT
trap 'echo; echo "ordering-mutations: interrupted; the working tree was never modified" >&2; exit 130' INT TERM

find_mutants "$root" >"$mutants_file.all"
summary="$(grep '^#' "$mutants_file.all" | sed 's/^# //')"
grep -v '^#' "$mutants_file.all" | grep . >"$mutants_file" || true
rm -f "$mutants_file.all"
if [ -n "$only" ]; then
    if ! awk -F'\t' -v re="$only" '($1 ":" $2) ~ re' "$mutants_file" >"$mutants_file.only" 2>/dev/null; then
        echo "ordering-mutations: --only: '$only' is not an extended regular expression" >&2
        exit 2
    fi
    mv "$mutants_file.only" "$mutants_file"
fi
total="$(grep -c . "$mutants_file" || true)"

if [ "$list" = 1 ]; then
    while IFS=$'\t' read -r file line col from to op _; do
        printf '%-40s %-17s %s\n' "$file:$line:$col" "$from->$to" "$op"
    done <"$mutants_file"
    echo "$summary"
    if [ -n "$only" ]; then echo "$total of them match '$only'"; fi
    exit 0
fi
if [ "$total" = 0 ]; then
    echo "ordering-mutations: no mutant${only:+ matches '$only'}" >&2
    exit 2
fi

# The scratch copy: tracked and untracked files that git does not ignore.
scratch="$(mktemp -d "${TMPDIR:-/tmp}/lockstep-ordering-mutations.XXXXXX")"
git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do if [ -e "$f" ]; then printf '%s\0' "$f"; fi; done |
    tar --null -T - -cf - | tar -xmf - -C "$scratch"
# (-m: the copies get the current time as modification time. Cargo keys its cache of workspace
# crates by their path relative to the workspace and decides by modification time whether a source
# changed, so copies with their old times could reuse a mutant's build from an earlier run.)
export CARGO_TARGET_DIR="${ORDERING_MUTATIONS_TARGET_DIR:-$root/target/ordering-mutations}"
# The extra arguments of the environment, then of --cargo-args; in each, those after a `--` go to
# the test binaries.
cargo_extra=()
test_extra=()
for source in "${ORDERING_MUTATIONS_CARGO_ARGS:-}" "$flag_cargo_args"; do
    read -ra words <<<"$source"
    after=0
    for a in "${words[@]}"; do
        if [ "$after" = 0 ] && [ "$a" = "--" ]; then after=1
        elif [ "$after" = 0 ]; then cargo_extra+=("$a")
        else test_extra+=("$a")
        fi
    done
done
test_cmd=(cargo test -p lockstep-core --features sim,async --test 'sim*' "${cargo_extra[@]}")
if [ "${#test_extra[@]}" -gt 0 ]; then test_cmd+=(-- "${test_extra[@]}"); fi
build_cmd=(cargo test -p lockstep-core --features sim,async --test 'sim*' --no-run "${cargo_extra[@]}")

# Runs "$@" in $scratch in the background (so that Ctrl-C interrupts it at once), output to $log.
log="$scratch/.ordering-mutations.log"
run() {
    (cd "$scratch" && exec "$@") >"$log" 2>&1 &
    child=$!
    local rc=0
    wait "$child" || rc=$?
    child=""
    return "$rc"
}

now() { date +%s; }

# Whether a simulator test binary was built after file $1 was written (never test a stale build).
fresh() {
    [ -n "$(find "$CARGO_TARGET_DIR" -path '*/deps/sim*' -type f -perm -u+x -newer "$1" -print -quit)" ]
}

echo "ordering-mutations: building and checking the unmutated code (${test_cmd[*]})"
if ! run "${build_cmd[@]}"; then
    tail -n 30 "$log" >&2
    echo "ordering-mutations: the unmutated code does not build" >&2
    exit 2
fi
if ! fresh "$scratch/core/src/lib.rs"; then
    echo "ordering-mutations: cargo did not rebuild the simulator checks from the scratch copy" >&2
    exit 2
fi
t0="$(now)"
rc=0
run timeout -k 10 "${timeout_s:-3600}" "${test_cmd[@]}" || rc=$?
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "ordering-mutations: the unmutated checks take longer than ${timeout_s:-3600}s; raise --timeout" >&2
    exit 2
elif [ "$rc" != 0 ]; then
    tail -n 30 "$log" >&2
    echo "ordering-mutations: the simulator checks fail on the unmutated code; nothing to measure" >&2
    exit 2
fi
base=$(($(now) - t0))
if [ -z "$timeout_s" ]; then
    timeout_s=$((base * 10))
    [ "$timeout_s" -ge 60 ] || timeout_s=60
fi
echo "ordering-mutations: unmutated checks pass in ${base}s; $total mutants, test timeout ${timeout_s}s each"

caught=0
errors=0
survivors=()
while IFS=$'\t' read -r file line col from to op replacement <&3; do
    target="$scratch/$file"
    cp "$target" "$target.orig"
    if ! LC_ALL=C awk -v L="$line" -v C="$col" -v F="$from" -v T="$replacement" '
        NR == L { if (substr($0, C, length(F)) != F) bad = 1; $0 = substr($0, 1, C - 1) T substr($0, C + length(F)) }
        { print }
        END { exit bad }' "$target.orig" >"$target"; then
        cat "$target.orig" >"$target"
        echo "ordering-mutations: $file:$line:$col does not hold '$from' (edited during the run?)" >&2
        exit 2
    fi
    start="$(now)"
    if ! run "${build_cmd[@]}"; then
        result="ERROR (does not build)"
        errors=$((errors + 1))
        tail -n 20 "$log" >&2
    elif ! fresh "$target"; then
        # Never test a stale build: the mutant must have been compiled.
        result="ERROR (not rebuilt)"
        errors=$((errors + 1))
    else
        rc=0
        run timeout -k 10 "$timeout_s" "${test_cmd[@]}" || rc=$?
        if [ "$rc" = 0 ]; then
            result="survived"
            survivors+=("$file:$line $from->$to ($op)")
        elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
            result="caught (timeout)"
            caught=$((caught + 1))
        else
            result="caught"
            caught=$((caught + 1))
        fi
    fi
    # A fresh write (new mtime), so that cargo sees the restored file as changed.
    cat "$target.orig" >"$target"
    rm -f "$target.orig"
    printf '%-40s %-17s %-18s %-17s %4ss\n' "$file:$line:$col" "$from->$to" "$op" "$result" "$(($(now) - start))"
done 3<"$mutants_file"

measured=$((total - errors))
pct="$(awk -v c="$caught" -v m="$measured" 'BEGIN { printf "%.1f", m ? 100 * c / m : 0 }')"
if [ "${#survivors[@]}" -gt 0 ]; then
    echo "survivors:"
    printf '  %s\n' "${survivors[@]}"
fi
echo "caught $caught of $measured ($pct%)${only:+ [only '$only']}"
if [ "$errors" -gt 0 ]; then
    echo "ordering-mutations: $errors mutant(s) did not build (left out of the score)" >&2
    exit 2
fi
if awk -v p="$pct" -v m="$min" 'BEGIN { exit !(p < m) }'; then
    echo "ordering-mutations: below the minimum of $min%" >&2
    exit 1
fi
