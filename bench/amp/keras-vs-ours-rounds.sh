#!/bin/bash
# Keras float32 / Keras mixed_bfloat16 / ours f32-vs-AMP (bench-use-amp.ts), one round after another,
# order reversed every second round; JSON per run in $OUT, a load line per round in $OUT/rounds.log.
#   ROUNDS=4 KERAS_PYTHON=/tmp/kvenv/bin/python bash bench/amp/keras-vs-ours-rounds.sh
cd "$(dirname "$0")/../.."
D=${OUT:-bench/amp/results/keras-vs-ours-quiet}; mkdir -p "$D"
for r in $(seq 1 "${ROUNDS:-4}"); do
  l0=$(cut -d' ' -f1 /proc/loadavg)
  kf() { ${KERAS_PYTHON:-/tmp/kvenv/bin/python} bench/keras-reference/pix2pix_step.py --size 256 --ngf 64 --batch 1 --steps 10 --warmup 2 --modes graph --policy float32 > $D/kf32_$r.json 2>>$D/stderr.log; }
  kb() { ${KERAS_PYTHON:-/tmp/kvenv/bin/python} bench/keras-reference/pix2pix_step.py --size 256 --ngf 64 --batch 1 --steps 10 --warmup 2 --modes graph --policy mixed_bfloat16 > $D/kbf16_$r.json 2>>$D/stderr.log; }
  ou() { node --import tsx bench/amp/bench-use-amp.ts --size 256 --ngf 64 --batch 1 --pairs 6 --warmup 2 --side ${SIDE:-compare} > $D/ours_$r.json 2>>$D/stderr.log; }
  if [ $((r % 2)) = 1 ]; then kf; kb; ou; else ou; kb; kf; fi
  l1=$(cut -d' ' -f1 /proc/loadavg)
  echo "round $r load $l0-$l1 $(date +%T)" >> $D/rounds.log
done
echo done >> $D/rounds.log
