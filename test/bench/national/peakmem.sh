#!/bin/sh
# peakmem.sh start PID FILE: sample the private memory (RssAnon) of backend PID every 0.1 s
#   until FILE.stop exists, keeping the largest value in FILE (kB).
# peakmem.sh stop FILE: stop sampling; print the peak RssAnon and the backend's VmHWM (peak
#   resident set, shared buffers it touched included).
case $1 in
start)
  pid=$2 out=$3
  rm -f "$out" "$out.stop"
  (
    max=0 hwm=0
    while [ ! -e "$out.stop" ] && [ -r "/proc/$pid/status" ]; do
      cur=$(awk '/^RssAnon:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
      h=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
      [ -n "$cur" ] && [ "$cur" -gt "$max" ] && max=$cur
      [ -n "$h" ] && hwm=$h
      echo "$max $hwm" >"$out"
      sleep 0.1
    done
  ) >/dev/null 2>&1 &
  ;;
stop)
  out=$2
  touch "$out.stop"
  sleep 0.3
  read -r max hwm <"$out" || true
  echo "peak_rss_anon_mb=$(( ${max:-0} / 1024 )) vm_hwm_mb=$(( ${hwm:-0} / 1024 ))"
  rm -f "$out" "$out.stop"
  ;;
esac
