// rrtf-exec's JavaScript runtime, loaded first in both programs of a judged run:
// - the candidate (this, the sample's code, then `__rrtf.serve(...)`) reads calls on fd 3 and
//   answers on fd 4;
// - the judge (this, stubs, the test) sends calls, decodes answers into fresh plain values
//   made by its own (pristine) builtins, counts check sites, and reports on fd 3.
// Wire format (messages are "<decimal length>\n<payload>"): U undefined, N null, T/F, d<16 hex>
// float64 bits, b<decimal>; bigint, w<n>:<UTF-16LE bytes> string, L<n>: array (A<n>: with
// extra keys, H a hole), M<n>: plain object (key string, value pairs), O<n>: the same with a
// null prototype (`Object.create(null)`, which node's `deepStrictEqual` and `String(o)` tell
// from `{}`). An array or object may be preceded by its integrity level, Z frozen, S sealed,
// P not extensible (applied once it is filled), and K<i>; is the i-th array or object of the
// same message again (numbered in the order they open; never one still open: no cycles), so
// a value the test mutates behaves as the sample's own would. A call is <name string><args
// array>; an answer R<value> or X<kind string><message string>. Anything else is a failure of
// the candidate.
const __rrtf = (() => {
  'use strict';
  const fs = require('fs');
  const MAX = 64 << 20;
  const f64 = new Float64Array(1);
  const u8 = new Uint8Array(f64.buffer);
  const arrayProto = Array.prototype;
  const objectProto = Object.prototype;
  const getProto = Object.getPrototypeOf;
  const keysOf = Object.keys;
  const isArray = Array.isArray;
  const ownKeys = Reflect.ownKeys;
  const ownDesc = Object.getOwnPropertyDescriptor;
  // Taken before the sample's code runs: a Proxy answers `isArray` and `getPrototypeOf` as
  // its target does, and its traps would answer the encoder once and the test differently.
  const isProxy = require('util').types.isProxy;
  const isExtensible = Object.isExtensible;
  const freeze = Object.freeze;
  const seal = Object.seal;
  const preventExtensions = Object.preventExtensions;
  // An array index: `'4294967295'` reads as one to `>>> 0` but is an ordinary key (an array's
  // indexes stop below its maximal length).
  const isIndex = (k) => typeof k === 'string' && String(k >>> 0) === k && k !== '4294967295';
  // The integrity level of an array or object (a wire tag, '' for none): what the test sees
  // with `Object.isFrozen`, `isSealed`, `isExtensible`, and what decides which writes of its
  // own (an assignment, `push`, `reverse`, `delete`) succeed, are ignored or throw. Read from
  // the keys themselves, not from `Object.isFrozen`: node's says a non-extensible array
  // without elements (`Object.seal([])`) is frozen while its `length` stays writable, and
  // `Object.freeze` would make it read-only. (The rebuilt value, sealed, answers
  // `isFrozen` as the sample's does.)
  function level(v) {
    if (isExtensible(v)) return '';
    let writable = false;
    for (const k of ownKeys(v)) {
      const d = ownDesc(v, k);
      if (!d || d.configurable) return 'P';
      if (d.writable) writable = true;
    }
    return writable ? 'S' : 'Z';
  }
  // Why an own key of a value would make what the test's own code sees differ from the data
  // the judge rebuilds ('' when none): an accessor anywhere, an array's indexes included (a
  // getter is read once here and on every read by the test: right at its first read only);
  // beyond an array's indexes, a function (`toJSON`, which the test's `JSON.stringify`
  // calls); a symbol (`Symbol.toPrimitive`); a non-enumerable key (which the test can read and
  // the encoder would not send), an index too (`Object.keys` skips it); and a key whose
  // attributes are not the ones the value's integrity level gives every key, which the rebuilt
  // value would not have: read-only in a value that is not frozen (an array's `length` too),
  // undeletable in one that is not sealed. Such a value is refused rather than judged as
  // something else.
  function hooks(v, arr, lvl) {
    for (const k of ownKeys(v)) {
      if (typeof k === 'symbol') return 'a symbol key';
      const d = ownDesc(v, k);
      if (!d || d.get || d.set) return 'a getter or setter';
      if (!(arr && k === 'length')) {
        if (!d.enumerable) return 'a non-enumerable key';
        if (!(arr && isIndex(k)) && typeof d.value === 'function') return 'a function among its keys';
        if (d.configurable !== (lvl === '' || lvl === 'P')) return 'a key that cannot be deleted while it is not sealed';
      }
      if (!d.writable && lvl !== 'Z') return 'a read-only key while it is not frozen';
    }
    return '';
  }
  const define = Object.defineProperty;

  function describe(v) {
    try {
      if (typeof v === 'function') return 'a function';
      if (typeof v === 'symbol') return 'a symbol';
      const proto = getProto(v);
      const name = proto && proto.constructor && proto.constructor.name;
      return name ? (/^[AEIOUaeiou]/.test(name) ? 'an ' : 'a ') + name : 'an object';
    } catch (e) {
      return 'a value';
    }
  }

  function hex(x) {
    f64[0] = x;
    let s = '';
    for (let i = 7; i >= 0; i--) s += (u8[i] < 16 ? '0' : '') + u8[i].toString(16);
    return s;
  }

  // `v` on the wire; `seen` numbers the arrays and objects already opened (`K`), `open` holds
  // those still being written (a cycle).
  function enc(v, out) {
    put(v, out, 0, new Map(), new Set());
  }

  function put(v, out, depth, seen, open) {
    if (depth > 500) throw new TypeError('a value nested too deeply');
    if (v === undefined) out.push('U');
    else if (v === null) out.push('N');
    else if (v === true) out.push('T');
    else if (v === false) out.push('F');
    else if (typeof v === 'number') out.push('d' + hex(v));
    else if (typeof v === 'bigint') out.push('b' + v.toString() + ';');
    else if (typeof v === 'string') {
      const b = Buffer.from(v, 'utf16le');
      out.push('w' + b.length + ':');
      out.push(b);
    } else if (typeof v === 'object' && isProxy(v)) {
      throw new TypeError('not a plain value: a Proxy');
    } else if (typeof v === 'object' && seen.has(v)) {
      // The same array or object again (`Array(2).fill([])`): the test, mutating one, would
      // see the other change.
      if (open.has(v)) throw new TypeError('not a plain value: a cyclic value');
      out.push('K' + seen.get(v) + ';');
    } else if (isArray(v) && getProto(v) === arrayProto) {
      const lvl = level(v);
      const why = hooks(v, true, lvl);
      if (why) throw new TypeError('not a plain value: an Array with ' + why);
      seen.set(v, seen.size);
      open.add(v);
      // Holes (`H`) and an array's own enumerable data keys beyond its indexes (`A`: a RegExp
      // match's `index`, `input`) cross as they are: node's `assert.deepEqual` tells them from
      // `undefined` and from a plain array.
      const extra = keysOf(v).filter((k) => !isIndex(k));
      out.push(lvl + (extra.length ? 'A' : 'L') + v.length + ':');
      for (let i = 0; i < v.length; i++) {
        if (i in v) put(v[i], out, depth + 1, seen, open);
        else out.push('H');
      }
      if (extra.length) {
        out.push(extra.length + ':');
        for (const k of extra) {
          put(k, out, depth + 1, seen, open);
          put(v[k], out, depth + 1, seen, open);
        }
      }
      open.delete(v);
    } else if (typeof v === 'object' && (getProto(v) === objectProto || getProto(v) === null)) {
      const lvl = level(v);
      const why = hooks(v, false, lvl);
      if (why) throw new TypeError('not a plain value: an Object with ' + why);
      seen.set(v, seen.size);
      open.add(v);
      const ks = keysOf(v);
      out.push(lvl + (getProto(v) === null ? 'O' : 'M') + ks.length + ':');
      for (const k of ks) {
        put(k, out, depth + 1, seen, open);
        put(v[k], out, depth + 1, seen, open);
      }
      open.delete(v);
    } else {
      throw new TypeError('not a plain value: ' + describe(v));
    }
  }

  function bytes(parts) {
    return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
  }

  class Malformed extends Error {}

  class Reader {
    constructor(b) {
      this.b = b;
      this.p = 0;
      // The arrays and objects read so far, in the order they opened (`K`), and whether each
      // is complete (a reference to one still open would be a cycle).
      this.refs = [];
      this.done = [];
    }
    byte() {
      if (this.p >= this.b.length) throw new Malformed('truncated');
      return String.fromCharCode(this.b[this.p++]);
    }
    count(end) {
      let n = 0;
      let digits = 0;
      for (;;) {
        const c = this.byte();
        if (c === end && digits > 0) return n;
        if (c < '0' || c > '9' || ++digits > 15) throw new Malformed('bad count');
        n = n * 10 + (c.charCodeAt(0) - 48);
      }
    }
    value(depth = 0) {
      if (depth > 500) throw new Malformed('nested too deeply');
      const t = this.byte();
      switch (t) {
        case 'U':
          return undefined;
        case 'N':
          return null;
        case 'T':
          return true;
        case 'F':
          return false;
        case 'd': {
          for (let i = 7; i >= 0; i--) {
            const h = this.byte() + this.byte();
            if (!/^[0-9a-f]{2}$/.test(h)) throw new Malformed('bad number');
            u8[i] = parseInt(h, 16);
          }
          return f64[0];
        }
        case 'b': {
          let s = '';
          for (let c = this.byte(); c !== ';'; c = this.byte()) s += c;
          if (!/^-?[0-9]+$/.test(s)) throw new Malformed('bad bigint');
          return BigInt(s);
        }
        case 'w': {
          const n = this.count(':');
          if (n % 2 !== 0 || this.p + n > this.b.length) throw new Malformed('bad string');
          const s = this.b.toString('utf16le', this.p, this.p + n);
          this.p += n;
          return s;
        }
        case 'Z':
        case 'S':
        case 'P': {
          const c = this.p < this.b.length ? this.b[this.p] : 0;
          if (c !== 76 && c !== 65 && c !== 77 && c !== 79) throw new Malformed('a level of no array or object');
          const v = this.value(depth);
          if (t === 'Z') freeze(v);
          else if (t === 'S') seal(v);
          else preventExtensions(v);
          return v;
        }
        case 'K': {
          const i = this.count(';');
          if (i >= this.refs.length || !this.done[i]) throw new Malformed('a reference to no complete value');
          return this.refs[i];
        }
        case 'L':
        case 'A': {
          const n = this.count(':');
          if (n > 0xfffffffe) throw new Malformed('an array too long');
          const a = [];
          const ref = this.refs.push(a) - 1;
          this.done.push(false);
          for (let i = 0; i < n; i++) {
            if (this.p < this.b.length && this.b[this.p] === 72) this.p++; // `H`: a hole
            else a[i] = this.value(depth + 1);
          }
          a.length = n;
          const m = t === 'A' ? this.count(':') : 0;
          for (let j = 0; j < m; j++) {
            const k = this.value(depth + 1);
            if (typeof k !== 'string' || k === 'length' || isIndex(k)) {
              throw new Malformed('an array key that is not a name');
            }
            define(a, k, { value: this.value(depth + 1), writable: true, enumerable: true, configurable: true });
          }
          this.done[ref] = true;
          return a;
        }
        case 'M':
        case 'O': {
          const n = this.count(':');
          const o = t === 'O' ? Object.create(null) : {};
          const ref = this.refs.push(o) - 1;
          this.done.push(false);
          for (let i = 0; i < n; i++) {
            const k = this.value(depth + 1);
            if (typeof k !== 'string') throw new Malformed('an object key that is not a string');
            define(o, k, { value: this.value(depth + 1), writable: true, enumerable: true, configurable: true });
          }
          this.done[ref] = true;
          return o;
        }
        default:
          throw new Malformed('unknown tag ' + JSON.stringify(t));
      }
    }
    end() {
      if (this.p !== this.b.length) throw new Malformed('trailing bytes');
    }
  }

  function writeAll(fd, buf) {
    let off = 0;
    while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
  }

  function writeMsg(fd, parts) {
    const body = bytes(parts);
    writeAll(fd, Buffer.concat([Buffer.from(body.length + '\n', 'latin1'), body]));
  }

  function readMsg(fd) {
    const one = Buffer.alloc(1);
    let n = 0;
    let digits = 0;
    for (;;) {
      let k;
      try {
        k = fs.readSync(fd, one, 0, 1, null);
      } catch (e) {
        return null;
      }
      if (k === 0) return null;
      const c = one[0];
      if (c === 10 && digits > 0) break;
      if (c < 48 || c > 57 || ++digits > 10) return null;
      n = n * 10 + (c - 48);
    }
    if (n > MAX) return null;
    const b = Buffer.alloc(n);
    let off = 0;
    while (off < n) {
      let k;
      try {
        k = fs.readSync(fd, b, off, n - off, null);
      } catch (e) {
        return null;
      }
      if (k === 0) return null;
      off += k;
    }
    return b;
  }

  function errorText(e) {
    try {
      if (e instanceof Error) return (e.name || 'Error') + ': ' + e.message;
      return 'a thrown ' + (typeof e === 'object' ? describe(e) : typeof e) + ': ' + String(e);
    } catch (x) {
      return 'an exception';
    }
  }

  // ---- the candidate's side ----

  // The test's top-level names, in the candidate's global scope (`guard`, before the sample's
  // code): in one program a name the sample uses without declaring it (`for (i = 0; ...)`
  // beside the test's `let i`, a read of the test's `data`) is the test's variable; here it
  // would be a global of the candidate's own, unseen by the test (an attacker's review, round
  // 19: a sample clobbering the test's `i` passed). Touching one fails that call and every
  // later one (a `try` in the sample cannot hide it: the judge cannot stand for the test).
  let touched = '';
  function guard(names) {
    for (const n of names) {
      if (n in globalThis) continue;
      const hit = () => {
        if (!touched) touched = 'the sample reads or writes `' + n + '` without declaring it, a name the test declares at its top level: in one program that is the test\'s variable, which the judge\'s two programs cannot share';
        throw new ReferenceError(touched);
      };
      define(globalThis, n, { get: hit, set: hit, enumerable: false, configurable: false });
    }
  }

  function serve(fns) {
    const own = (o, k) => objectProto.hasOwnProperty.call(o, k);
    for (;;) {
      const m = readMsg(3);
      if (m === null) return;
      let out;
      try {
        const r = new Reader(m);
        const name = r.value();
        const args = r.value();
        r.end();
        if (typeof name !== 'string' || !isArray(args)) throw new Malformed('not a call');
        const f = own(fns, name) ? fns[name] : undefined;
        if (typeof f !== 'function') throw new ReferenceError(name + ' is not defined as a function');
        if (touched) throw new ReferenceError(touched);
        const v = f(...args);
        if (touched) throw new ReferenceError(touched);
        out = ['R'];
        enc(v, out);
      } catch (e) {
        out = ['X'];
        enc('error', out);
        enc(errorText(e), out);
      }
      writeMsg(4, out);
    }
  }

  // ---- the judge's side ----

  class CandidateError extends Error {}
  let nonce = '';
  let sites = [];
  let calls = 0;
  let errors = 0;
  let markCalls = 0;
  let markErrors = 0;
  let dead = false;
  let told = false;
  let total = 0;

  function oneline(s) {
    return String(s).replace(/[\r\n\t]/g, ' ').slice(0, 300);
  }

  function report(line) {
    writeAll(3, Buffer.from(nonce + ' ' + line + '\n', 'utf8'));
  }

  function candError(kind, msg) {
    errors++;
    if (!told) {
      told = true;
      report('E ' + kind + ' ' + oneline(msg));
    }
    throw new CandidateError(msg);
  }

  function call(name, args) {
    calls++;
    if (dead) candError('died', 'the candidate process is gone');
    const out = [];
    try {
      enc(name, out);
      enc(args, out);
    } catch (e) {
      report('U the test passes ' + oneline(errorText(e)) + ' to `' + name + '`');
      throw e;
    }
    // A candidate that already ended (a program that did not parse, an exit) closed its end
    // of the pipe: the write fails with EPIPE, which says the same as a closed answer pipe.
    let sent = true;
    try {
      writeMsg(4, out);
    } catch (e) {
      sent = false;
    }
    const rep = sent ? readMsg(5) : null;
    if (rep === null) {
      dead = true;
      candError('died', 'the candidate process ended during a call');
    }
    let kind;
    let msg;
    try {
      const r = new Reader(rep);
      const tag = r.byte();
      if (tag === 'R') {
        const v = r.value();
        r.end();
        return v;
      }
      if (tag !== 'X') throw new Malformed('not an answer');
      kind = r.value();
      msg = r.value();
      r.end();
      if (typeof kind !== 'string' || typeof msg !== 'string') throw new Malformed('bad failure');
    } catch (e) {
      if (e instanceof Malformed) candError('error', 'the answer is not a plain value: ' + e.message);
      throw e;
    }
    candError(kind === 'memory' ? 'memory' : 'error', msg);
  }

  function stub(name) {
    return function (...args) {
      return call(name, args);
    };
  }

  // What the test gets for each of the sample's functions when it calls more than one of them
  // (`all`): a helper of the sample's would compute the values its own answer is checked
  // against (HumanEval-X /38's encodeCyclic), so no check that reaches one can pass, even one
  // that catches the error.
  function untrusted(name, all) {
    return function () {
      candError('error', 'the test calls ' + all.length + ' functions of the sample\'s code (' +
        all.join(', ') + '): only the function under test may come from the sample, a helper of ' +
        'the sample\'s would compute the values its own answer is checked against');
    };
  }

  function siteEvent(site, ok, called, err, why) {
    const s = sites[site];
    if (!s) return;
    const b = Object.assign({}, s);
    s.ran = true;
    s.failed = s.failed || !ok;
    s.called = s.called || called;
    s.errored = s.errored || err;
    if (!b.ran || s.failed !== b.failed || s.called !== b.called || s.errored !== b.errored) {
      report('S ' + site + ' ' + (s.failed ? 1 : 0) + ' ' + (s.called ? 1 : 0) + ' ' + (s.errored ? 1 : 0) + ' ' + (!ok && !b.failed ? oneline(why) : ''));
    }
  }

  function check(site, thunk) {
    let ok = false;
    let why = '';
    try {
      ok = !!thunk();
    } catch (e) {
      why = e instanceof CandidateError ? 'the candidate failed: ' + e.message : 'the check raised: ' + errorText(e);
    }
    const called = calls > markCalls;
    const errored = errors > markErrors;
    markCalls = calls;
    markErrors = errors;
    if (errored && !why) why = 'the candidate failed during the check';
    siteEvent(site, ok && !errored, called, errored || why !== '', why);
  }

  function judgeStart(n) {
    const one = Buffer.alloc(1);
    let s = '';
    while (fs.readSync(0, one, 0, 1, null) === 1 && one[0] !== 10) s += String.fromCharCode(one[0]);
    nonce = s.trim();
    total = n;
    sites = [];
    for (let i = 0; i < Math.max(n, 1); i++) sites.push({ ran: false, failed: false, called: false, errored: false });
    // The judge reports when the process exits (the event loop emptied, or the test called
    // `process.exit`), after the test's own exit listeners: they are kept here, not given to
    // node (`exitListeners`), so that a failure they signal (an exception, `process.exitCode`) is seen
    // before the report. A status other than 0 is the test's failure.
    process.on('exit', (code) => {
      for (const f of exitListeners.splice(0)) {
        try {
          f.call(process, code);
        } catch (e) {
          signal('an exit listener of the test raised: ' + errorText(e));
        }
      }
      const status = process.exitCode !== undefined ? process.exitCode : code;
      if (status !== undefined && status !== 0 && status !== '0') {
        signal('the test ended with status ' + oneline(status));
      }
      finish();
    });
    for (const m of ['on', 'once', 'addListener', 'prependListener', 'prependOnceListener']) {
      const real = process[m];
      process[m] = function (event, f) {
        if (event === 'exit' && typeof f === 'function') {
          exitListeners.push(f);
          return process;
        }
        return real.call(process, event, f);
      };
    }
  }
  const exitListeners = [];

  // A failure the test signals outside its check sites (an assert of the console the reading
  // of the test did not find, an exit status): one failed check more (`F`), reported once.
  let signalled = '';
  function signal(why) {
    if (!signalled) {
      signalled = why;
      if (total > 0) report('F ' + oneline(why));
    }
  }

  let failure = '';
  function testError(e) {
    failure = e instanceof CandidateError ? 'the candidate failed: ' + e.message : 'the test raised: ' + errorText(e);
  }

  // The test's end is when node's event loop is empty, not when its script's last line ran:
  // an async test's awaited checks run later, and an error they raise (an unhandled rejection,
  // an exception in a callback) or a `process.exitCode` the test sets is its failure.
  function judgeDone() {
    process.on('unhandledRejection', (e) => {
      if (!failure) testError(e);
    });
    process.on('uncaughtException', (e) => {
      if (!failure) testError(e);
    });
  }

  // What the judge's console assert becomes: an assert the executor did not find in the test
  // (so not a check site) still fails the test when it fails.
  function unseen(cond, ...msg) {
    if (!cond) {
      signal('an assert of the console that is not a check site failed' + (msg.length ? ': ' + oneline(msg.join(' ')) : ''));
    }
  }

  let finished = false;
  function finish() {
    if (finished) return;
    finished = true;
    if (total === 0) {
      const bad = failure || signalled;
      siteEvent(0, bad === '' && errors === 0, calls > 0, errors > 0 || bad !== '', bad || 'the candidate failed');
    } else if (failure) {
      report('T ' + oneline(failure));
    }
    report('D ' + total);
  }

  return { guard, serve, check, stub, untrusted, judgeStart, judgeDone, testError, unseen };
})();
