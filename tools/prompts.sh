#!/usr/bin/env bash
# Makes the voice prompts from prompts/texts.toml: 8 kHz mono raw μ-law (G.711 PCMU, no
# header), what the service embeds and plays to callers as it is.
#
#   prompts/<lang>/welcome.ul, menu.ul, busy_hold.ul, queue_position.ul, digit_1.ul …
#   digit_9.ul, closed.ul  each language's texts, spoken by espeak-ng in the table's
#                       voice; menu.ul is that language's line of the language menu
#                       ("For English, press 2"), which the service plays one after
#                       the other for the languages `[sip] menu_languages` offers;
#   prompts/hold_music.ul  a 19 s synthesised loop (arpeggios of C, Am, F, G; no
#                       recording, so no rights to clear).
#
# Needs espeak-ng, sox and python3 (apt-get install espeak-ng sox). The output is
# committed, so the service and its tests need none of them; run this again after
# changing a text, and commit the files it changes.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in espeak-ng sox python3; do
  command -v "$tool" >/dev/null || { echo "prompts.sh needs $tool" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Speech at 140 words a minute (espeak's 175 is fast for a caller on a bad line), cut
# below 120 Hz (telephone band), resampled to 8 kHz and peaking at -3 dBFS.
speak() { # voice text out.wav
  espeak-ng -v "$1" -s 140 -w "$tmp/speech.wav" "$2"
  sox "$tmp/speech.wav" -r 8000 -c 1 -b 16 "$3" gain -6 highpass 120 rate 8000 norm -3
}
to_ulaw() { # in.wav out.ul
  sox "$1" -r 8000 -c 1 -t ul "$2"
}

# One line per text: language, voice, name, text (tabs apart, texts have none).
python3 - prompts/texts.toml >"$tmp/texts.tsv" <<'PY'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    texts = tomllib.load(f)
for lang, table in texts.items():
    for name in ("welcome", "menu", "busy_hold", "queue_position", "closed"):
        print(f"{lang}\t{table['voice']}\t{name}\t{table[name]}")
PY

while IFS=$'\t' read -r lang voice name text; do
  mkdir -p "prompts/$lang"
  speak "$voice" "$text" "$tmp/$lang-$name.wav"
  if [ "$name" = menu ]; then
    # A pause after each choice, so the caller can tell them apart.
    sox "$tmp/$lang-$name.wav" "$tmp/$lang-menu-padded.wav" pad 0 0.4
    to_ulaw "$tmp/$lang-menu-padded.wav" "prompts/$lang/menu.ul"
    continue
  fi
  to_ulaw "$tmp/$lang-$name.wav" "prompts/$lang/$name.ul"
  if [ "$name" = queue_position ]; then
    for digit in 1 2 3 4 5 6 7 8 9; do
      speak "$voice" "$digit" "$tmp/$lang-digit.wav"
      to_ulaw "$tmp/$lang-digit.wav" "prompts/$lang/digit_$digit.ul"
    done
  fi
done <"$tmp/texts.tsv"

# Hold music: plucked notes, 0.3 s each, four chords of four notes (semitones from A4),
# with a little reverb, four times over, quiet (peaks at -12 dBFS) under any speech.
notes=(-9 -5 -2 3  -12 -9 -5 0  -16 -12 -9 -4  -14 -10 -7 -2)
parts=()
for i in "${!notes[@]}"; do
  sox -n -r 8000 -c 1 -b 16 "$tmp/note$i.wav" synth 0.3 pluck "%${notes[$i]}" fade 0 0.3 0.05
  parts+=("$tmp/note$i.wav")
done
sox "${parts[@]}" "$tmp/phrase.wav"
sox "$tmp/phrase.wav" "$tmp/music.wav" repeat 3 reverb 40 lowpass 3400 norm -12
to_ulaw "$tmp/music.wav" prompts/hold_music.ul

du -ch prompts/*.ul prompts/*/*.ul | tail -n1
