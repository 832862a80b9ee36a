/**
 * Time for the cluster library. `now` is wall-clock ms (injectable for tests). `stamp` is this
 * node's logical clock for replication messages: wall-clock ms, but strictly increasing per node
 * (sub-millisecond steps), so two changes in the same millisecond are still ordered. Stamps order
 * a node's own changes exactly; across nodes they are as good as the hosts' clock sync, which is
 * all Tomcat's state-transfer timestamp filter (cluster-semantics §2.5) relies on, too.
 */
export interface Clock {
  now(): number;
  stamp(): number;
}

export function createClock(now: () => number = Date.now): Clock {
  let last = 0;
  return {
    now,
    stamp() {
      const t = now();
      last = t > last ? t : last + 0.001;
      return last;
    },
  };
}
