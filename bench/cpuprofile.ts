/**
 * Summarises a V8 CPU profile (`node --cpu-prof`): self and inclusive time per function and self
 * time per source file, as shares of the busy (non-idle) time, to find the proxy's hot spots.
 */

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber?: number;
}

export interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface HotSpot {
  name: string;
  /** Share of busy time, percent. */
  percent: number;
  ms: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Time the process sat idle in the event loop. */
  idleMs: number;
  busyMs: number;
  /** Native work outside JS functions (`(program)`) and garbage collection, percent of busy. */
  programPercent: number;
  gcPercent: number;
  selfByFunction: HotSpot[];
  inclusiveByFunction: HotSpot[];
  selfByFile: HotSpot[];
}

/** `…/dist/src/proxy/x.js` → `src/proxy/x.js`, `…/node_modules/yaml/…` → `node_modules/yaml/…`; node internals kept. */
export function shortUrl(url: string): string {
  if (url === '') return '';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + 1);
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 6);
  return url.replace(/^file:\/\//, '');
}

function frameName(f: CallFrame): string {
  const fn = f.functionName === '' ? '(anonymous)' : f.functionName;
  const where = shortUrl(f.url);
  return where === '' ? fn : `${fn} ${where}:${f.lineNumber + 1}`;
}

const IDLE = '(idle)';
const PROGRAM = '(program)';
const GC = '(garbage collector)';

function top(map: Map<string, number>, busyUs: number, n: number): HotSpot[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => ({ name, ms: Math.round(us / 100) / 10, percent: busyUs > 0 ? Math.round((1000 * us) / busyUs) / 10 : 0 }));
}

/** Self time per node in µs, from the sample timeline (or hit counts when it is absent). */
function selfTimes(p: CpuProfile): Map<number, number> {
  const self = new Map<number, number>();
  if (p.samples !== undefined && p.timeDeltas !== undefined && p.samples.length === p.timeDeltas.length) {
    // timeDeltas[i] is the time since the previous sample; it is spent where sample i was taken.
    for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + Math.max(0, p.timeDeltas[i]));
    return self;
  }
  const hits = p.nodes.reduce((n, x) => n + (x.hitCount ?? 0), 0);
  const perHit = hits > 0 ? (p.endTime - p.startTime) / hits : 0;
  for (const node of p.nodes) self.set(node.id, (node.hitCount ?? 0) * perHit);
  return self;
}

export function summarizeProfile(p: CpuProfile, n = 20): ProfileSummary {
  const self = selfTimes(p);
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  let totalUs = 0;
  let idleUs = 0;
  let programUs = 0;
  let gcUs = 0;
  const selfFn = new Map<string, number>();
  const selfFile = new Map<string, number>();
  for (const node of p.nodes) {
    const us = self.get(node.id) ?? 0;
    totalUs += us;
    const fn = node.callFrame.functionName;
    if (fn === IDLE) idleUs += us;
    else if (fn === PROGRAM) programUs += us;
    else if (fn === GC) gcUs += us;
    if (fn === IDLE || us === 0) continue;
    const name = frameName(node.callFrame);
    selfFn.set(name, (selfFn.get(name) ?? 0) + us);
    const file = shortUrl(node.callFrame.url) || (fn.startsWith('(') ? fn : '(native)');
    selfFile.set(file, (selfFile.get(file) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;

  // Inclusive: a function's subtree time, counted once per stack even when it recurses.
  const inclusive = new Map<string, number>();
  const subtree = (id: number, onStack: Set<string>): number => {
    const node = byId.get(id);
    if (node === undefined) return 0;
    let us = self.get(id) ?? 0;
    const name = frameName(node.callFrame);
    const fresh = !onStack.has(name);
    if (fresh) onStack.add(name);
    for (const child of node.children ?? []) us += subtree(child, onStack);
    if (fresh) {
      onStack.delete(name);
      if (!name.startsWith('(')) inclusive.set(name, (inclusive.get(name) ?? 0) + us);
    }
    return us;
  };
  const childIds = new Set(p.nodes.flatMap((x) => x.children ?? []));
  for (const root of p.nodes.filter((x) => !childIds.has(x.id))) subtree(root.id, new Set());

  return {
    totalMs: Math.round(totalUs / 1000),
    idleMs: Math.round(idleUs / 1000),
    busyMs: Math.round(busyUs / 1000),
    programPercent: busyUs > 0 ? Math.round((1000 * programUs) / busyUs) / 10 : 0,
    gcPercent: busyUs > 0 ? Math.round((1000 * gcUs) / busyUs) / 10 : 0,
    selfByFunction: top(selfFn, busyUs, n),
    inclusiveByFunction: top(inclusive, busyUs, n),
    selfByFile: top(selfFile, busyUs, n),
  };
}

export function formatSummary(s: ProfileSummary): string {
  const list = (title: string, spots: HotSpot[]): string => [`${title}:`, ...spots.map((h) => `  ${h.percent.toFixed(1).padStart(5)}%  ${h.name}`)].join('\n');
  return [
    `profiled ${s.totalMs} ms, busy ${s.busyMs} ms (idle ${s.idleMs} ms); native (program) ${s.programPercent}% and GC ${s.gcPercent}% of busy time`,
    list('self time by function (% of busy)', s.selfByFunction),
    list('self time by file (% of busy)', s.selfByFile),
    list('inclusive time by function (% of busy)', s.inclusiveByFunction),
  ].join('\n\n');
}
