# bench.vm --trace (W3): reads the ftrace text of sched_waking, sched_switch
# and sched_migrate_task and prints, for the wake-ups of the w3-light
# threads, how long each waited (waking to switch-in), split by where it ran:
# on the CPU that woke it or elsewhere, on the CPU the kernel named as its
# target or not; log2 histograms in microseconds, bucket i = [2^(i-1), 2^i).
# Then the first waits over 4 ms with the switches that happened meanwhile
# (CPU:next task), and the time span of the first four over 5 ms ("slow N"
# lines, which wakes-detail.awk prints in full).
# Usage: awk -v cfg=NAME -f wakes.awk TRACE
function us(f) { sub(":", "", f); return f * 1e6 }
{
	for (i = 1; i <= NF; i++)
		if ($i ~ /^\[[0-9]+\]$/)
			break
	if (i > NF)
		next
	cpu = substr($i, 2, length($i) - 2) + 0
	t = us($(i + 2))
	ev = $(i + 3)
	if (ev == "sched_waking:") {
		comm = pid = tgt = ""
		for (j = i + 4; j <= NF; j++) {
			if ($j ~ /^comm=/) comm = substr($j, 6)
			else if ($j ~ /^pid=/) pid = substr($j, 5)
			else if ($j ~ /^target_cpu=/) tgt = substr($j, 12) + 0
		}
		if (comm ~ /^w3-light/) {
			wt[pid] = t; wc[pid] = cpu; wtg[pid] = tgt; seq[pid] = ""; nseq[pid] = 0
		}
	} else if (ev == "sched_switch:") {
		split($0, a, "==> ")
		split(a[2], b, " ")
		nc = b[1]; sub(/^next_comm=/, "", nc)
		np = b[2]; sub(/^next_pid=/, "", np)
		for (q in wt)
			if (nseq[q] < 8) { seq[q] = seq[q] " " cpu ":" nc; nseq[q]++ }
		if (np in wt) {
			lat = t - wt[np]
			k = (cpu == wc[np] ? "on_waking_cpu" : "elsewhere") (wtg[np] == cpu ? "_target" : "_not_target")
			n[k]++
			for (v = lat, bk = 0; v >= 1 && bk < 20; bk++)
				v /= 2
			h[k, bk]++
			if (lat > 2000)
				over[k]++
			total++
			if (lat > maxl)
				maxl = lat
			if (lat > 4000 && shown < 25) {
				shown++
				printf "trace cfg=%s wait_us=%.0f woke_on=%d ran_on=%d meanwhile:%s\n", cfg, lat, wc[np], cpu, seq[np]
			}
			if (lat > 5000 && nslow < 4) {
				nslow++
				printf "trace cfg=%s slow %d pid=%s from=%.0f to=%.0f\n", cfg, nslow, np, wt[np], t
			}
			delete wt[np]
		}
	}
}
END {
	printf "trace cfg=%s wakes=%d longest_us=%.0f\n", cfg, total, maxl
	for (k in n) {
		printf "trace cfg=%s %s n=%d over_2ms=%d log2_us:", cfg, k, n[k], over[k]
		for (bk = 0; bk <= 20; bk++)
			printf " %d", h[k, bk]
		printf "\n"
	}
}
