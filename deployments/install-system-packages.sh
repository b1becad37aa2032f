#!/usr/bin/env sh
# Installs the system programs the project calls: tesseract with its language packs (OCR),
# dovecot (the IMAP server the tests start), pg_dump (backups) and chromium (the browser the
# tests open the Prefect UI in, driven by playwright).
# Idempotent: does nothing when every program is already there.
set -eu

need=""
command -v tesseract >/dev/null 2>&1 || need="$need tesseract-ocr"
for lang in eng deu fra nld; do
    [ -n "$(ls /usr/share/tesseract-ocr/*/tessdata/$lang.traineddata 2>/dev/null)" ] || need="$need tesseract-ocr-$lang"
done
command -v dovecot >/dev/null 2>&1 || need="$need dovecot-imapd"
command -v pg_dump >/dev/null 2>&1 || need="$need postgresql-client"
[ -x /usr/bin/chromium ] || need="$need chromium"

if [ -z "$need" ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "Missing system packages:$need -- install them with your package manager." >&2
    exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "Installing system packages:$need"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
