# bench.vm --trace: every trace line (all CPUs, any bpf_printk a debug build
# adds) inside the time spans of wakes.awk's "slow N" lines, 120 per span.
# Usage: awk -f wakes-detail.awk WAKES_OUTPUT TRACE
FILENAME == ARGV[1] {
	if ($0 ~ / slow [0-9]+ pid=/) {
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^from=/) from[++n] = substr($i, 6) + 0
			else if ($i ~ /^to=/) to[n] = substr($i, 4) + 0
		}
	}
	next
}
{
	for (i = 1; i <= NF; i++)
		if ($i ~ /^\[[0-9]+\]$/)
			break
	if (i > NF)
		next
	t = $(i + 2); sub(":", "", t); t = t * 1e6
	for (k = 1; k <= n; k++)
		if (t >= from[k] - 50 && t <= to[k] + 10 && shown[k]++ < 120)
			print "trace slow" k " " $0
}
