# Shared by scripts/serve and scripts/test: a virtualenv with the pinned requirements, system packages on demand.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
cd "$ROOT"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

pick_python() {
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 \
       && "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return
    fi
  done
  echo "需要 Python 3.11 或更高版本 / Python 3.11+ is required" >&2; exit 1
}

apt_install() {
  # Install the Debian packages given that are not installed yet (as root, or with sudo).
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "Installing system packages: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "需要 root 或 sudo 安装系统软件包: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_venv() {
  # Create .venv if missing and install the requirements file given, only when it changed since last time.
  local reqs="$1"
  if [ ! -x "$VENV/bin/pip" ]; then  # pip, not python: a venv cut short before pip is made again
    local py; py="$(pick_python)"
    say "Creating virtualenv with $py"
    rm -rf "$VENV"
    "$py" -m venv "$VENV" 2>/dev/null || { rm -rf "$VENV"; apt_install python3-venv; "$py" -m venv "$VENV"; }
    "$VENV/bin/python" -m pip install -q --upgrade pip
  fi
  local stamp="$VENV/.installed-$(basename "$reqs")"
  local digest; digest="$(cat requirements*.txt | sha256sum | cut -c1-16)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
    say "Installing Python packages from $reqs"
    "$VENV/bin/pip" install -q -r "$reqs"
    echo "$digest" > "$stamp"
  fi
}

BPMN_JS_VERSION=18.31.1  # pinned: the viewer is part of what the tests check
# What WeasyPrint needs from Debian to render Chinese PDFs (Pango, HarfBuzz, a CJK font). Hanazono covers
# CJK Ext-A/B (生僻字 in names are real data) and DejaVu the common emoji, both fallbacks of the templates.
PDF_PACKAGES=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-wqy-microhei fonts-hanazono fonts-dejavu-core)

# The browser modeler (issue 11): bpmn-js Modeler + properties panel + bpmnlint, bundled by esbuild from
# app/web/static/modeler/ into app/web/static/vendor/modeler/. Pinned; bpmnlint 12 needs a package the
# registry does not serve (@bpmn-io/lint-core), so 11.15 it is.
MODELER_PACKAGES=("bpmn-js@$BPMN_JS_VERSION" bpmn-js-properties-panel@5.65.3 @bpmn-io/properties-panel@3.55.0
                  bpmnlint@11.15.0 esbuild@0.28.2)

ensure_bpmn_js() {
  # The diagram viewer and the modeler bundle under the static folder; node_modules and the bundle are never committed.
  local prefix="$ROOT/app/web/static/vendor"
  local wanted; wanted="$(printf '%s\n' "${MODELER_PACKAGES[@]}")"
  if [ "$(cat "$prefix/.packages" 2>/dev/null)" != "$wanted" ] \
     || ! grep -qs "\"version\": \"$BPMN_JS_VERSION\"" "$prefix/node_modules/bpmn-js/package.json"; then
    command -v npm >/dev/null 2>&1 || apt_install npm
    say "Installing bpmn-js $BPMN_JS_VERSION and the modeler's packages into app/web/static/vendor"
    mkdir -p "$prefix"
    npm install --prefix "$prefix" --no-audit --no-fund --silent "${MODELER_PACKAGES[@]}" >/dev/null
    printf '%s\n' "$wanted" > "$prefix/.packages"
  fi
  build_modeler
}

build_modeler() {
  # Rebuild the modeler bundle when its sources or the packages changed (a checksum stamp beside it).
  local prefix="$ROOT/app/web/static/vendor" src="$ROOT/app/web/static/modeler"
  local digest; digest="$( { cat "$prefix/.packages" 2>/dev/null || true; cat "$src"/*.js "$src"/*.json; } | sha256sum | cut -d' ' -f1)"
  [ "$(cat "$prefix/modeler/.stamp" 2>/dev/null)" = "$digest" ] && return 0
  say "Building the modeler bundle (esbuild)"
  mkdir -p "$prefix/modeler"
  NODE_PATH="$prefix/node_modules" "$prefix/node_modules/esbuild/bin/esbuild" "$src/index.js" --bundle \
    --minify --format=iife --target=es2020 \
    --outfile="$prefix/modeler/modeler.js" --log-level=warning
  echo "$digest" > "$prefix/modeler/.stamp"
}
