# SPDX-License-Identifier: GPL-2.0
#
# make bench's plots: gnuplot -e "dir='.cache/vm-out/bench'" bench/plot.gp
# Reads size.dat and scale.dat (written by vushm_bench next to its JSON),
# writes size.png and scale.png there.

if (!exists("dir")) dir = "."
set terminal pngcairo size 900,560 font ",10" noenhanced
set grid
set key top left
set logscale xy
set ylabel "ns per op (median; bars: min-max of the reps)"

set output dir."/size.png"
set title "MAP + touch every page + UNMAP, by size (TCG VM; ratios matter, not ns)"
set xlabel "mapping size (bytes)"
plot dir."/size.dat" using 1:2:3:4 with yerrorlines title "vushm ioctl", \
     dir."/size.dat" using 1:5:6:7 with yerrorlines title "baseline A: arena mmap(MAP_FIXED) + PROT_NONE"

set output dir."/scale.png"
set title "MAP + touch + UNMAP of 4 KiB with N live mappings in a 1 TiB window"
set xlabel "live mappings"
plot dir."/scale.dat" using 1:2:3:4 with yerrorlines title "vushm ioctl", \
     dir."/scale.dat" using 1:5:6:7 with yerrorlines title "baseline A (no live mappings)"
