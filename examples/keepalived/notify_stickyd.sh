#!/bin/sh
# keepalived's notify script for stickyd's virtual address (keepalived-a.conf, docs/ha.md): notes
# this host's VRRP state in a file and in syslog.
#
#   notify "/etc/keepalived/notify_stickyd.sh [STATE_FILE]" root
#
# keepalived appends four arguments: INSTANCE (or GROUP), the instance's name, the new state
# (MASTER, BACKUP, FAULT or STOP) and the priority. STATE_FILE (default
# /run/keepalived-stickyd.state) then holds one line, "VI_STICKYD MASTER 150", replaced whole on
# every change: `cat` it to see which host serves, or let monitoring read it. keepalived does not
# wait for notify scripts, so two changes within milliseconds may be noted out of order; its
# notify_fifo keeps the order when that matters.
if [ $# -ge 5 ]; then
  state_file=$1
  shift
else
  state_file=/run/keepalived-stickyd.state
fi
kind=$1 name=$2 state=$3 priority=$4
tmp="$state_file.$$"
printf '%s %s %s\n' "$name" "$state" "$priority" > "$tmp" && mv -f "$tmp" "$state_file"
logger -t keepalived-stickyd "$kind $name is now $state (priority $priority)" 2>/dev/null
exit 0
