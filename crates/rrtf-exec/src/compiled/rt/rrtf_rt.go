// rrtf-exec's Go runtime, compiled into both programs of a judged run (package main):
//   - the candidate (the sample's code, this, rrtf_serve_test.go) reads calls on fd 3 and
//     answers on fd 4;
//   - the judge (the test, stubs, this, rrtf_judge_test.go) sends calls, decodes answers into
//     fresh values of the declared types (reflect), counts check sites, reports on fd 3.
//
// Wire format (messages are "<decimal length>\n<payload>"): N nil, T/F, i<decimal>; integer,
// d<16 hex> float bits (as float64), s<n>:<bytes> string, L<n>: slice or array, C<cap>:<n>: a
// slice with spare capacity (its elements up to its capacity follow: an `append` into it writes
// memory the other side then shares), M<n>: map,
// Y<type string><value> an interface holding a value of that (unnamed) type, P<n>: results.
// W, K and B: a slice or map of memory the receiver has (see rrtfRefs). A call is "<id>;", the
// test's changes (U<i>:<value>) and its arguments; an answer R<results>, the sample's changes
// (U<i>:<value>) and E<n>: (see rrtfKeep), or X<kind string><message string>.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

type rrtfMalformed struct{ what string }

func (m rrtfMalformed) Error() string { return m.what }

func rrtfCount(o []byte, tag byte, n int) []byte {
	o = append(o, tag)
	o = strconv.AppendInt(o, int64(n), 10)
	return append(o, ':')
}

func rrtfEnc(o []byte, v reflect.Value, depth int) ([]byte, error) {
	return rrtfEncRef(o, v, depth, nil)
}

// rrtfEncRef: rrtfEnc, where a slice or map sharing memory with one the other side has (r,
// see rrtfRefs) crosses as a reference to it.
func rrtfEncRef(o []byte, v reflect.Value, depth int, r *rrtfRefs) ([]byte, error) {
	if depth > 500 {
		return o, rrtfMalformed{"a value nested too deeply"}
	}
	switch v.Kind() {
	case reflect.Bool:
		if v.Bool() {
			return append(o, 'T'), nil
		}
		return append(o, 'F'), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		o = append(o, 'i')
		o = strconv.AppendInt(o, v.Int(), 10)
		return append(o, ';'), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		o = append(o, 'i')
		o = strconv.AppendUint(o, v.Uint(), 10)
		return append(o, ';'), nil
	case reflect.Float32, reflect.Float64:
		return append(o, fmt.Sprintf("d%016x", math.Float64bits(v.Float()))...), nil
	case reflect.String:
		s := v.String()
		o = rrtfCount(o, 's', len(s))
		return append(o, s...), nil
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return append(o, 'N'), nil
		}
		if v.Kind() == reflect.Slice && r != nil {
			var done bool
			var contents reflect.Value
			var err error
			if o, done, contents, err = r.enc(o, v, depth); err != nil {
				return o, err
			} else if done {
				return rrtfEncContents(o, contents, depth, r)
			}
		}
		if v.Kind() == reflect.Slice && v.Cap() > v.Len() && v.Type().Elem().Size() > 0 {
			o = rrtfCount(o, 'C', v.Cap())
			o = strconv.AppendInt(o, int64(v.Len()), 10)
			o = append(o, ':')
			return rrtfEncItems(o, v.Slice(0, v.Cap()), depth, r)
		}
		return rrtfEncItems(rrtfCount(o, 'L', v.Len()), v, depth, r)
	case reflect.Map:
		if v.IsNil() {
			return append(o, 'N'), nil
		}
		if r != nil {
			var done bool
			var contents reflect.Value
			var err error
			if o, done, contents, err = r.enc(o, v, depth); err != nil {
				return o, err
			} else if done {
				return rrtfEncContents(o, contents, depth, r)
			}
		}
		return rrtfEncItems(rrtfCount(o, 'M', v.Len()), v, depth, r)
	case reflect.Interface:
		if v.IsNil() {
			return append(o, 'N'), nil
		}
		e := v.Elem()
		name := e.Type().String()
		if _, err := rrtfParseType(name); err != nil {
			return o, rrtfMalformed{"not a plain value: a " + name}
		}
		o = rrtfCount(o, 'Y', len(name))
		o = append(o, name...)
		return rrtfEncRef(o, e, depth+1, r)
	}
	return o, rrtfMalformed{"not a plain value: a " + v.Type().String()}
}

// rrtfEncContents: a `W` reference's memory (a slice of all of it, a map), as contents: its
// elements or entries; nothing for `K` and `B` (no memory, an invalid value).
func rrtfEncContents(o []byte, m reflect.Value, depth int, r *rrtfRefs) ([]byte, error) {
	if !m.IsValid() {
		return o, nil
	}
	if m.Kind() == reflect.Map {
		return rrtfEncItems(rrtfCount(o, 'M', m.Len()), m, depth, r)
	}
	return rrtfEncItems(rrtfCount(o, 'L', m.Len()), m, depth, r)
}

// rrtfEncItems appends v's elements (a slice or array: all of v) or entries (a map), after
// the header its caller wrote.
func rrtfEncItems(o []byte, v reflect.Value, depth int, r *rrtfRefs) ([]byte, error) {
	var err error
	if v.Kind() == reflect.Map {
		it := v.MapRange()
		for it.Next() {
			if o, err = rrtfEncRef(o, it.Key(), depth+1, r); err != nil {
				return o, err
			}
			if o, err = rrtfEncRef(o, it.Value(), depth+1, r); err != nil {
				return o, err
			}
		}
		return o, nil
	}
	for i := 0; i < v.Len(); i++ {
		if o, err = rrtfEncRef(o, v.Index(i), depth+1, r); err != nil {
			return o, err
		}
	}
	return o, nil
}

type rrtfIn struct {
	b []byte
	p int
	// r: the references a call's arguments may hold (the candidate's side, see rrtfRefs).
	r *rrtfRefs
}

// Memory the test and the sample share. In one program a slice the test passes may lie in one
// the sample returned earlier (and still writes: a package buffer), one argument may hold one
// row twice, a result may be its argument, a row the sample grows with `append` inside its
// capacity is still the test's array. Each side's values are its own copies, so such sharing
// crosses as a reference the receiver resolves in its own copy of that memory, with the
// memory's contents after it: a slice or map inside a value both sides hold (the roots:
// rrtfKeep and rrtfHeld, in one order, with this call's arguments after them in an answer),
// found by a path of slice and array indices and map keys as the values stood when they last
// crossed, is `W<root>:<depth>:<step>...<offset>:<length>:<capacity>:<contents>` (a step is
// `<index>:` or `k<key>`; a map has no offset, length or capacity; the contents are the
// slice's elements to its capacity, or the map's entries), and one inside a slice sent earlier
// in the same message is `B<k>:<offset>:<length>:<capacity>:` (k counts the message's slices
// and maps sent as new memory, in the order sent) or `B<k>:` for a map. "Inside" is by
// capacity: a slice's spare elements cross with it (`C`), so a result that is `append(xs, v)`
// into its argument's spare capacity is that argument's memory on both sides. The receiver
// writes the contents into its memory and puts the headers where they stand: a row the sample
// replaced with new memory is new memory in the test (its old row keeps its contents), one it
// grew in place (`g[k] = append(g[k], v)`) is the test's array with the new length, rows it
// swapped are the test's arrays swapped. A slice of no capacity is never a reference (an empty
// slice's address says nothing of whose it is). Memory that overlaps a root or an earlier
// slice of the message without lying inside it (`F(a[1:], a)`, a result cut from a kept
// slice at an earlier start) cannot be shared: the judge refuses such a call (`U`, crashed)
// and the candidate such an answer (the call fails); the test's slice that overlaps a kept
// one without lying inside it (a[1:] kept, a passed) crosses as a copy, and the sample sees no
// sharing with what it kept.
type rrtfRefs struct {
	of    []reflect.Value // the roots, walked at the first slice or map encoded
	built bool
	roots []rrtfSpan // encoding: the roots' slices and maps, by address
	maxHi []uintptr  // maxHi[i]: the greatest capacity end among roots[0..i]
	keep  []reflect.Value
	sent  []bool      // roots whose contents this message holds
	topOf map[int]int // a root's own memory, by root
	msg   []rrtfSpan  // encoding: this message's so far
	// strict: memory that overlaps without a holder is refused with `conflict` (the judge's
	// message: `U`; the candidate's answer: the call fails).
	strict   bool
	conflict string
	// change: the value being encoded is a change of root changeRoot (`U`): its own memory is
	// sent as contents, not as a reference to itself.
	change     bool
	changeRoot int
	// decoding
	rootVals []reflect.Value
	madeVals []reflect.Value
	quiet    bool        // the next slice or map decoded is a reference's contents: not made
	writes   []rrtfWrite // the references' contents, written by rrtfWriteAll
}

type rrtfSpan struct {
	lo, chi uintptr // its elements' memory to its capacity (a map: its address)
	t       reflect.Type
	root    int
	depth   int
	path    []byte // the steps, encoded
}

// rrtfWrite: memory a reference resolved to (a slice to its capacity, a map) and the contents
// the sender says it holds.
type rrtfWrite struct {
	mem, contents reflect.Value
}

func rrtfSpanOf(v reflect.Value) rrtfSpan {
	if v.Kind() == reflect.Map {
		lo := v.Pointer()
		return rrtfSpan{lo: lo, chi: lo + 1, t: v.Type()}
	}
	if v.Kind() == reflect.Array { // an addressable array: the slices that view it
		lo := v.UnsafeAddr()
		chi := lo + uintptr(v.Len())*v.Type().Elem().Size()
		return rrtfSpan{lo: lo, chi: chi, t: reflect.SliceOf(v.Type().Elem())}
	}
	lo := v.Pointer()
	return rrtfSpan{lo: lo, chi: lo + uintptr(v.Cap())*v.Type().Elem().Size(), t: v.Type()}
}

// rrtfRefsOf: references into roots, for a message. The walk is made when the message first
// holds a slice or map (build): a call of numbers and strings, or an answer of one, costs
// none. rrtfRefsNow walks at once: the memory as it stands before the sample runs (or before
// the test goes on), for a message sent after that.
func rrtfRefsOf(roots []reflect.Value, strict bool) *rrtfRefs {
	return &rrtfRefs{strict: strict, of: roots}
}

func rrtfRefsNow(roots []reflect.Value, strict bool) *rrtfRefs {
	r := rrtfRefsOf(roots, strict)
	r.build()
	return r
}

// build: each root's slices, addressable arrays and maps, by a path of slice and array indices
// and map keys, through interfaces (values kept: their memory outlives the message).
func (r *rrtfRefs) build() {
	if r.built {
		return
	}
	r.built = true
	var walk func(v reflect.Value, root int, path []byte, depth, nest int)
	add := func(v reflect.Value, root int, path []byte, depth int) {
		s := rrtfSpanOf(v)
		s.root, s.depth, s.path = root, depth, append([]byte(nil), path...)
		r.roots = append(r.roots, s)
		r.keep = append(r.keep, v)
	}
	walk = func(v reflect.Value, root int, path []byte, depth, nest int) {
		if nest > 64 {
			return
		}
		switch v.Kind() {
		case reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem(), root, path, depth, nest+1)
			}
			return
		case reflect.Map:
			if v.IsNil() {
				return
			}
			add(v, root, path, depth)
			if !rrtfHasRef(v.Type().Elem()) {
				return
			}
			it := v.MapRange()
			for it.Next() {
				k := it.Key()
				if (k.Kind() == reflect.Float32 || k.Kind() == reflect.Float64) && k.Float() != k.Float() {
					continue // a NaN key: no lookup finds it
				}
				p, err := rrtfEnc(append(path, 'k'), k, 0)
				if err == nil {
					walk(it.Value(), root, p, depth+1, nest+1)
				}
			}
			return
		case reflect.Slice:
			if v.IsNil() {
				return
			}
			if v.Cap() > 0 && v.Type().Elem().Size() > 0 {
				add(v, root, path, depth)
			}
		case reflect.Array:
			if v.CanAddr() && v.Len() > 0 && v.Type().Elem().Size() > 0 {
				add(v, root, path, depth)
			}
		default:
			return
		}
		// Elements that may hold memory, or arrays (a slice may view one: `rows[i][:]`).
		if e := v.Type().Elem(); !rrtfHasRef(e) && e.Kind() != reflect.Array {
			return
		}
		for i := 0; i < v.Len(); i++ {
			p := strconv.AppendInt(path, int64(i), 10)
			walk(v.Index(i), root, append(p, ':'), depth+1, nest+1)
		}
	}
	for i, v := range r.of {
		walk(v, i, nil, 0, 0)
	}
	order := make([]int, len(r.roots))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return r.roots[order[a]].lo < r.roots[order[b]].lo })
	roots := make([]rrtfSpan, len(order))
	keep := make([]reflect.Value, len(order))
	for i, j := range order {
		roots[i], keep[i] = r.roots[j], r.keep[j]
	}
	r.roots, r.keep = roots, keep
	r.sent = make([]bool, len(roots))
	r.topOf = map[int]int{}
	for i, s := range roots {
		if s.depth == 0 {
			r.topOf[s.root] = i
		}
	}
	r.maxHi = make([]uintptr, len(roots))
	var m uintptr
	for i, s := range roots {
		if s.chi > m {
			m = s.chi
		}
		r.maxHi[i] = m
	}
}

// enc: v (a non-nil slice or map) as a reference if it lies in memory the other side has
// (`W` with that memory's contents the first time in the message, the returned value to
// encode after it with rrtfEncContents; `K` after; `B` into the message's own), else nothing
// written and v registered as the message's next new memory (done false). At depth 0 of a
// change, v is the root's own memory: its contents follow, no reference.
func (r *rrtfRefs) enc(o []byte, v reflect.Value, depth int) ([]byte, bool, reflect.Value, error) {
	r.build()
	var none reflect.Value
	sp := rrtfSpanOf(v)
	isMap := v.Kind() == reflect.Map
	if r.change && depth == 0 {
		if i, ok := r.topOf[r.changeRoot]; ok {
			r.sent[i] = true
		}
		return o, false, none, nil
	}
	// inside: whether s holds v within its capacity (a map: is v), and v's offset in it.
	inside := func(s rrtfSpan) (int, bool) {
		if s.t != sp.t {
			return 0, false
		}
		if isMap {
			return 0, s.lo == sp.lo
		}
		size := uintptr(v.Type().Elem().Size())
		if v.Cap() == 0 || size == 0 || sp.lo < s.lo || sp.chi > s.chi || (sp.lo-s.lo)%size != 0 {
			return 0, false
		}
		return int((sp.lo - s.lo) / size), true
	}
	ref := func(o []byte, off int) []byte {
		if !isMap {
			o = strconv.AppendInt(o, int64(off), 10)
			o = append(o, ':')
			o = strconv.AppendInt(o, int64(v.Len()), 10)
			o = append(o, ':')
			o = strconv.AppendInt(o, int64(v.Cap()), 10)
			o = append(o, ':')
		}
		return o
	}
	// overlaps: whether v's memory (to its capacity) meets s's.
	overlaps := func(s rrtfSpan) bool {
		if isMap || s.t.Kind() == reflect.Map {
			return false
		}
		return sp.lo < s.chi && s.lo < sp.chi
	}
	// The roots starting at or before v, nearest first, while one of them could still reach
	// v's end (maxHi).
	at := sort.Search(len(r.roots), func(i int) bool { return r.roots[i].lo > sp.lo })
	for i := at - 1; i >= 0 && r.maxHi[i] >= sp.chi; i-- {
		s := r.roots[i]
		off, ok := inside(s)
		if !ok {
			continue
		}
		tag, contents := byte('K'), none
		if !r.sent[i] {
			r.sent[i] = true
			tag, contents = 'W', r.keep[i]
			if contents.Kind() != reflect.Map {
				if contents.Kind() == reflect.Array {
					contents = contents.Slice(0, contents.Len())
				} else {
					contents = contents.Slice(0, contents.Cap())
				}
			}
		}
		o = rrtfCount(o, tag, s.root)
		o = strconv.AppendInt(o, int64(s.depth), 10)
		o = append(o, ':')
		o = append(o, s.path...)
		return ref(o, off), true, contents, nil
	}
	for k, s := range r.msg {
		if off, ok := inside(s); ok {
			o = rrtfCount(o, 'B', k)
			return ref(o, off), true, none, nil
		}
	}
	// A view of one array in a slice of arrays the message holds (`Sum(g, g[1][:])`, g a
	// [][2]int): `B<k>:a<row>:` then the view in that row (an attacker's review, round 21: it
	// was refused as an overlap, a right sample crashed; a held slice's arrays are roots).
	if !isMap && v.Cap() > 0 && v.Type().Elem().Size() > 0 {
		for k, s := range r.msg {
			a := s.t.Elem()
			if s.t.Kind() != reflect.Slice || a.Kind() != reflect.Array || a.Size() == 0 ||
				reflect.SliceOf(a.Elem()) != sp.t || sp.lo < s.lo || sp.chi > s.chi {
				continue
			}
			row := (sp.lo - s.lo) / a.Size()
			base, size := s.lo+row*a.Size(), a.Elem().Size()
			if sp.chi > base+a.Size() || (sp.lo-base)%size != 0 {
				continue
			}
			o = rrtfCount(o, 'B', k)
			o = rrtfCount(o, 'a', int(row))
			return ref(o, int((sp.lo-base)/size)), true, none, nil
		}
	}
	if !isMap {
		for _, s := range r.msg {
			if overlaps(s) {
				r.conflict = "one slice's memory twice, the later not lying inside the earlier's capacity (a[1:], then a)"
			}
		}
		if !r.strict {
			// The candidate: its own memory over a root's without lying inside it.
			end := sort.Search(len(r.roots), func(i int) bool { return r.roots[i].lo >= sp.chi })
			for i := end - 1; i >= 0 && r.maxHi[i] > sp.lo; i-- {
				if overlaps(r.roots[i]) {
					r.conflict = "memory of a slice the test holds, from before its start (a[1:] given, a returned)"
				}
			}
		}
		if r.conflict != "" {
			return o, true, none, rrtfMalformed{r.conflict}
		}
	}
	r.msg = append(r.msg, sp)
	return o, false, none, nil
}

// made: a slice or map just decoded (the message's next, for `B` references), unless it is a
// reference's contents.
func (r *rrtfRefs) made(v reflect.Value) {
	if r == nil {
		return
	}
	if r.quiet {
		r.quiet = false
		return
	}
	r.madeVals = append(r.madeVals, v)
}

// dec: the value a reference (after its tag) stands for, of type t; a `W` reference's
// contents are decoded and kept for rrtfWriteAll.
func (r *rrtfRefs) dec(in *rrtfIn, tag byte, t reflect.Type, depth int) (reflect.Value, error) {
	bad := rrtfMalformed{"a reference to no shared memory of its type"}
	var v reflect.Value
	if tag == 'B' {
		k, err := in.count(':')
		if err != nil || k >= len(r.madeVals) {
			return v, bad
		}
		v = r.madeVals[k]
		if in.p < len(in.b) && in.b[in.p] == 'a' { // one array of it (see enc)
			in.p++
			i, err := in.count(':')
			if err != nil || v.Kind() != reflect.Slice || v.Type().Elem().Kind() != reflect.Array || i >= v.Cap() {
				return v, bad
			}
			v = v.Slice(0, v.Cap()).Index(i)
		}
	} else {
		root, err := in.count(':')
		if err != nil || root >= len(r.rootVals) {
			return v, bad
		}
		steps, err := in.count(':')
		if err != nil || steps > 64 {
			return v, bad
		}
		v = r.rootVals[root]
		for d := 0; d < steps; d++ {
			for v.Kind() == reflect.Interface && !v.IsNil() {
				v = v.Elem()
			}
			if in.p < len(in.b) && in.b[in.p] == 'k' {
				in.p++
				if v.Kind() != reflect.Map || v.IsNil() {
					return v, bad
				}
				key, err := rrtfDec(in, v.Type().Key(), 0)
				if err != nil {
					return v, bad
				}
				if v = v.MapIndex(key); !v.IsValid() {
					return v, bad
				}
				continue
			}
			i, err := in.count(':')
			if err != nil || (v.Kind() != reflect.Slice && v.Kind() != reflect.Array) || i >= v.Len() {
				return v, bad
			}
			v = v.Index(i)
		}
		for v.Kind() == reflect.Interface && !v.IsNil() {
			v = v.Elem()
		}
	}
	// The memory: a map, or a slice to its capacity (an array: all of it).
	switch {
	case t.Kind() == reflect.Map:
		if v.Type() != t || v.IsNil() {
			return v, bad
		}
	case v.Kind() == reflect.Array:
		if !v.CanAddr() || reflect.SliceOf(v.Type().Elem()) != t {
			return v, bad
		}
		v = v.Slice(0, v.Len())
	default:
		if v.Type() != t || v.IsNil() {
			return v, bad
		}
		v = v.Slice(0, v.Cap())
	}
	var off, n, c int
	if t.Kind() == reflect.Slice {
		var err error
		off, err = in.count(':')
		if err == nil {
			n, err = in.count(':')
		}
		if err == nil {
			c, err = in.count(':')
		}
		if err != nil || c < 1 || n > c || off+c > v.Cap() {
			return v, bad
		}
	}
	if tag == 'W' {
		// The memory's contents as the sender has them now: all its elements, or its entries.
		if in.p >= len(in.b) || (in.b[in.p] != 'L' && in.b[in.p] != 'M') {
			return v, bad
		}
		r.quiet = true
		contents, err := rrtfDecRef(in, t, depth+1, r)
		r.quiet = false
		if err != nil {
			return v, err
		}
		if t.Kind() == reflect.Slice && (contents.IsNil() || contents.Len() != v.Len()) {
			return v, bad
		}
		r.writes = append(r.writes, rrtfWrite{v, contents})
	}
	if t.Kind() == reflect.Slice {
		v = v.Slice3(off, off+n, off+c)
	}
	return v, nil
}

// rrtfWriteAll writes the references' contents into the memory they resolved to, after the
// whole message decoded (each resolved in the memory as it stood).
func (r *rrtfRefs) rrtfWriteAll() {
	for _, w := range r.writes {
		if rrtfFits(w.mem, w.contents) {
			rrtfApply(w.mem, w.contents)
		}
	}
	r.writes = nil
}

func (in *rrtfIn) get() (byte, error) {
	if in.p >= len(in.b) {
		return 0, rrtfMalformed{"truncated"}
	}
	in.p++
	return in.b[in.p-1], nil
}

func (in *rrtfIn) count(end byte) (int, error) {
	n, digits := 0, 0
	for {
		c, err := in.get()
		if err != nil {
			return 0, err
		}
		if c == end && digits > 0 {
			return n, nil
		}
		if c < '0' || c > '9' || digits >= 12 {
			return 0, rrtfMalformed{"bad count"}
		}
		n = n*10 + int(c-'0')
		digits++
	}
}

func (in *rrtfIn) until(end byte) (string, error) {
	start := in.p
	for {
		c, err := in.get()
		if err != nil {
			return "", err
		}
		if c == end {
			return string(in.b[start : in.p-1]), nil
		}
		if in.p-start > 40 {
			return "", rrtfMalformed{"bad number"}
		}
	}
}

var rrtfBasic = map[string]reflect.Type{
	"bool": reflect.TypeOf(false), "int": reflect.TypeOf(int(0)), "int8": reflect.TypeOf(int8(0)),
	"int16": reflect.TypeOf(int16(0)), "int32": reflect.TypeOf(int32(0)), "int64": reflect.TypeOf(int64(0)),
	"uint": reflect.TypeOf(uint(0)), "uint8": reflect.TypeOf(uint8(0)), "uint16": reflect.TypeOf(uint16(0)),
	"uint32": reflect.TypeOf(uint32(0)), "uint64": reflect.TypeOf(uint64(0)),
	"float32": reflect.TypeOf(float32(0)), "float64": reflect.TypeOf(float64(0)),
	"string": reflect.TypeOf(""), "interface {}": reflect.TypeOf((*interface{})(nil)).Elem(),
}

// rrtfParseType: an unnamed type as reflect writes it ("[]interface {}", "map[string]int").
func rrtfParseType(s string) (reflect.Type, error) {
	t, rest, err := rrtfTypePrefix(s, 0)
	if err != nil {
		return nil, err
	}
	if rest != "" {
		return nil, rrtfMalformed{"bad type " + s}
	}
	return t, nil
}

func rrtfTypePrefix(s string, depth int) (reflect.Type, string, error) {
	if depth > 20 {
		return nil, "", rrtfMalformed{"type nested too deeply"}
	}
	if strings.HasPrefix(s, "[]") {
		e, rest, err := rrtfTypePrefix(s[2:], depth+1)
		if err != nil {
			return nil, "", err
		}
		return reflect.SliceOf(e), rest, nil
	}
	if strings.HasPrefix(s, "map[") {
		k, rest, err := rrtfTypePrefix(s[4:], depth+1)
		if err != nil {
			return nil, "", err
		}
		if !strings.HasPrefix(rest, "]") || !k.Comparable() {
			return nil, "", rrtfMalformed{"bad map type"}
		}
		v, rest, err := rrtfTypePrefix(rest[1:], depth+1)
		if err != nil {
			return nil, "", err
		}
		return reflect.MapOf(k, v), rest, nil
	}
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return nil, "", rrtfMalformed{"bad array type"}
		}
		n, err := strconv.Atoi(s[1:end])
		if err != nil || n < 0 || n > 1<<20 {
			return nil, "", rrtfMalformed{"bad array length"}
		}
		e, rest, err := rrtfTypePrefix(s[end+1:], depth+1)
		if err != nil {
			return nil, "", err
		}
		return reflect.ArrayOf(n, e), rest, nil
	}
	if strings.HasPrefix(s, "interface {}") {
		return rrtfBasic["interface {}"], s[len("interface {}"):], nil
	}
	end := 0
	for end < len(s) && (s[end] >= 'a' && s[end] <= 'z' || s[end] >= '0' && s[end] <= '9') {
		end++
	}
	if t, ok := rrtfBasic[s[:end]]; ok {
		return t, s[end:], nil
	}
	return nil, "", rrtfMalformed{"not a plain type: " + s}
}

func rrtfDec(in *rrtfIn, t reflect.Type, depth int) (reflect.Value, error) {
	return rrtfDecRef(in, t, depth, nil)
}

// rrtfDecRef: rrtfDec, where a reference (see rrtfRefs) stands for memory this side has.
func rrtfDecRef(in *rrtfIn, t reflect.Type, depth int, r *rrtfRefs) (reflect.Value, error) {
	v := reflect.New(t).Elem()
	if depth > 500 {
		return v, rrtfMalformed{"nested too deeply"}
	}
	tag, err := in.get()
	if err != nil {
		return v, err
	}
	bad := func(what string) (reflect.Value, error) {
		return v, rrtfMalformed{fmt.Sprintf("%s where a %s is declared", what, t.String())}
	}
	if (tag == 'W' || tag == 'K' || tag == 'B') && (t.Kind() == reflect.Slice || t.Kind() == reflect.Map) {
		if r == nil {
			return bad("a reference")
		}
		shared, err := r.dec(in, tag, t, depth)
		if err != nil {
			return v, err
		}
		v.Set(shared)
		return v, nil
	}
	switch t.Kind() {
	case reflect.Bool:
		if tag != 'T' && tag != 'F' {
			return bad("not a bool")
		}
		v.SetBool(tag == 'T')
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s, err := in.until(';')
		n, err2 := strconv.ParseInt(s, 10, 64)
		if tag != 'i' || err != nil || err2 != nil || v.OverflowInt(n) {
			return bad("not an integer in range")
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		s, err := in.until(';')
		n, err2 := strconv.ParseUint(s, 10, 64)
		if tag != 'i' || err != nil || err2 != nil || v.OverflowUint(n) {
			return bad("not an integer in range")
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		if tag != 'd' || in.p+16 > len(in.b) {
			return bad("not a float")
		}
		bits, err := strconv.ParseUint(string(in.b[in.p:in.p+16]), 16, 64)
		if err != nil {
			return bad("not a float")
		}
		in.p += 16
		v.SetFloat(math.Float64frombits(bits))
	case reflect.String:
		if tag != 's' {
			return bad("not a string")
		}
		n, err := in.count(':')
		if err != nil || n > len(in.b)-in.p {
			return bad("not a string")
		}
		v.SetString(string(in.b[in.p : in.p+n]))
		in.p += n
	case reflect.Slice, reflect.Array:
		if tag == 'N' && t.Kind() == reflect.Slice {
			return v, nil
		}
		if tag != 'L' && (tag != 'C' || t.Kind() != reflect.Slice) {
			return bad("not a list")
		}
		// n elements, c of memory (a slice's capacity: its spare elements follow).
		n, err := in.count(':')
		c := n
		if err == nil && tag == 'C' {
			if n, err = in.count(':'); err == nil && n >= c {
				return bad("not a list")
			}
		}
		if err != nil || c > len(in.b)-in.p {
			return bad("not a list")
		}
		if t.Kind() == reflect.Array && n != t.Len() {
			return bad(fmt.Sprintf("%d elements", n))
		}
		all := v
		if t.Kind() == reflect.Slice {
			v.Set(reflect.MakeSlice(t, n, c))
			r.made(v)
			all = v.Slice(0, c)
		}
		for i := 0; i < c; i++ {
			e, err := rrtfDecRef(in, t.Elem(), depth+1, r)
			if err != nil {
				return v, err
			}
			all.Index(i).Set(e)
		}
	case reflect.Map:
		if tag == 'N' {
			return v, nil
		}
		if tag != 'M' {
			return bad("not a map")
		}
		n, err := in.count(':')
		if err != nil || n > len(in.b)-in.p {
			return bad("not a map")
		}
		v.Set(reflect.MakeMapWithSize(t, n))
		r.made(v)
		for i := 0; i < n; i++ {
			k, err := rrtfDecRef(in, t.Key(), depth+1, r)
			if err != nil {
				return v, err
			}
			e, err := rrtfDecRef(in, t.Elem(), depth+1, r)
			if err != nil {
				return v, err
			}
			before := v.Len()
			v.SetMapIndex(k, e)
			if v.Len() != before+1 {
				return bad("a duplicate key")
			}
		}
	case reflect.Interface:
		if t.NumMethod() != 0 {
			return bad("an interface with methods")
		}
		if tag == 'N' {
			return v, nil
		}
		if tag != 'Y' {
			return bad("not an interface value")
		}
		n, err := in.count(':')
		if err != nil || n > len(in.b)-in.p {
			return bad("not an interface value")
		}
		dyn, err := rrtfParseType(string(in.b[in.p : in.p+n]))
		if err != nil {
			return v, err
		}
		in.p += n
		if dyn.Kind() == reflect.Interface {
			return bad("an interface inside an interface")
		}
		e, err := rrtfDecRef(in, dyn, depth+1, r)
		if err != nil {
			return v, err
		}
		v.Set(e)
	default:
		return v, rrtfMalformed{"not a plain type: " + t.String()}
	}
	return v, nil
}

// rrtfDecChange decodes a changed value (`U`): its own slice or map is its root's memory, not
// the message's next (the sender did not count it, see rrtfRefs.enc).
func rrtfDecChange(in *rrtfIn, t reflect.Type, r *rrtfRefs) (reflect.Value, error) {
	r.quiet = t.Kind() == reflect.Slice || t.Kind() == reflect.Map
	v, err := rrtfDecRef(in, t, 0, r)
	r.quiet = false
	return v, err
}

// rrtfDecInto decodes a call's arguments into each pointer's element, then expects the end;
// the arguments the sample could change in place join rrtfPending (see rrtfKeep).
func rrtfDecInto(in *rrtfIn, ptrs ...interface{}) error {
	for _, p := range ptrs {
		e := reflect.ValueOf(p).Elem()
		v, err := rrtfDecRef(in, e.Type(), 0, in.r)
		if err != nil {
			return err
		}
		e.Set(v)
	}
	if in.p != len(in.b) {
		return rrtfMalformed{"trailing bytes"}
	}
	if in.r != nil {
		in.r.rrtfWriteAll()
	}
	held := rrtfValues(append(append([]rrtfKept(nil), rrtfKeep...), rrtfPending...))
	for _, p := range ptrs {
		if e := reflect.ValueOf(p).Elem(); rrtfHasRef(e.Type()) && !rrtfHolds(held, e) {
			rrtfPending = append(rrtfPending, rrtfKept{e, rrtfSnap(e)})
			held = append(held, e)
		}
	}
	// The memory as it stands before the sample runs: the answer's references are paths into
	// it, as the judge's values stand (rrtfRefs).
	rrtfPre = rrtfRefsNow(held, false)
	return nil
}

// rrtfPre: the candidate's references for the answer (rrtfDecInto).
var rrtfPre *rrtfRefs

// A value the test may still hold after a call (an argument it passed, a result it got) that
// the sample could still change in place (it shares a slice's array or a map), with its
// snapshot when last sent. In one program the test sees such a change (a sample that sorts the
// slice it was given, or returns slices of one buffer it overwrites at the next call); here
// the values are copies on each side, so every change crosses back: after each call the
// candidate sends what changed (`U<index>:<value>`, after the results), and the judge writes it
// into its own copy, which the test holds.
type rrtfKept struct {
	v    reflect.Value
	snap []byte
}

var rrtfKeep, rrtfPending []rrtfKept

// rrtfDropped: the judge said it stopped watching some (once).
var rrtfDropped bool

// What the candidate keeps between calls is bounded (the most recent values, at most
// rrtfKeepMax of them and rrtfKeepBytes of snapshots): each call snapshots them all again, and
// a test of thousands of calls, or of large slices, would cost the square. A test keeps a
// result for a few calls (a table of rows, then the comparisons). The candidate says how many
// it dropped (`E<n>:` ending its answer); a change to a dropped value would go unseen (a
// result over the bound, overwritten by the sample's buffer at a later call, passed), so the
// judge then cannot stand for the test: `U`, crashed.
const rrtfKeepMax = 1024
const rrtfKeepBytes = 16 << 20

func rrtfValues(kept []rrtfKept) []reflect.Value {
	vs := make([]reflect.Value, len(kept))
	for i, k := range kept {
		vs[i] = k.v
	}
	return vs
}

func rrtfDrop(kept []rrtfKept) int {
	total := 0
	for _, k := range kept {
		total += len(k.snap)
	}
	drop := 0
	for drop < len(kept) && (len(kept)-drop > rrtfKeepMax || total > rrtfKeepBytes) {
		total -= len(kept[drop].snap)
		drop++
	}
	return drop
}

// rrtfHolds: whether v needs no watching of its own: it has no memory to change (nil, a slice
// of no capacity or of elements of no size), or held has it already (a slice with its array,
// length and capacity, or a map): v is then not held. A test that passes one grid to a
// hundred calls holds one value, not a hundred whose snapshots and walks every call repeated
// (a right sample timed out at 3 s: 300 calls on a 100 x 100 grid). A held slice's or map's own header never changes (a
// change is written into its memory: rrtfApply), and the two sides hold the same values in the
// same order (a reference crosses with its array, offset, length and capacity), so they leave
// out the same ones. A slice of no capacity is never compared by address: it crosses as a new
// empty one, at one address on the receiving side for all of them, while the sender's keep
// their arrays' addresses (the two sides' held values parted, and a change was written into
// another value of the test, a forged pass: round 22). Nil and capacity cross exactly, so
// both sides leave out the same memoryless values. An interface{} counts as what it holds.
func rrtfHolds(held []reflect.Value, v reflect.Value) bool {
	v = rrtfBare(v)
	switch v.Kind() {
	case reflect.Interface: // a nil one (rrtfBare)
		return true
	case reflect.Map:
		if v.IsNil() {
			return true
		}
	case reflect.Slice:
		if v.Cap() == 0 || v.Type().Elem().Size() == 0 {
			return true
		}
	default:
		return false
	}
	k := v.Kind()
	for _, h := range held {
		if h = rrtfBare(h); h.Type() == v.Type() && h.Pointer() == v.Pointer() &&
			(k == reflect.Map || h.Len() == v.Len() && h.Cap() == v.Cap()) {
			return true
		}
	}
	return false
}

func rrtfBare(v reflect.Value) reflect.Value {
	if v.Kind() == reflect.Interface && !v.IsNil() {
		return v.Elem()
	}
	return v
}

// rrtfHasRef: whether a value of type t can share memory with another (slices, maps).
func rrtfHasRef(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Slice, reflect.Map, reflect.Ptr, reflect.Interface:
		return true
	case reflect.Array:
		return rrtfHasRef(t.Elem())
	}
	return false
}

// rrtfSnap: v's encoding with each map's entries in one order, so that equal contents give
// equal snapshots (a map's range order is random); a slice's to its capacity (an `append`
// into spare capacity changes memory the other side shares); and its layout, each slice's
// array address, length and capacity, each map's address (a row the sample replaced with an
// equal copy, or two equal rows it made one, is a change: an attacker's review, round 20, found
// the two sides' layouts had parted unseen). Compared only with the same side's own.
func rrtfSnap(v reflect.Value) []byte {
	return rrtfSnapIn(nil, v, nil)
}

// rrtfSnapIn appends v's snapshot to o; a slice or map already open on the way down (a value
// that holds itself, through an interface{}) is its depth there.
func rrtfSnapIn(o []byte, v reflect.Value, open []uintptr) []byte {
	at := func(p uintptr) ([]byte, bool) {
		o = strconv.AppendUint(append(o, '@'), uint64(p), 16)
		for d, q := range open {
			if q == p {
				return rrtfCount(o, 'R', d), true
			}
		}
		return o, false
	}
	var cyclic bool
	switch v.Kind() {
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice {
			if v.IsNil() {
				return append(o, 'N')
			}
			if o, cyclic = at(v.Pointer()); cyclic {
				return o
			}
			open = append(open, v.Pointer())
			if v.Cap() > v.Len() && v.Type().Elem().Size() > 0 {
				o = rrtfCount(o, 'C', v.Cap())
				v = v.Slice(0, v.Cap())
			}
		}
		// Numbers and booleans (no pointers): their memory as it is, in one copy.
		if v.Kind() == reflect.Slice && v.Len() > 0 {
			switch v.Type().Elem().Kind() {
			case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
				reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
				reflect.Float32, reflect.Float64:
				n := v.Len() * int(v.Type().Elem().Size())
				o = rrtfCount(o, 'B', v.Len())
				return append(o, unsafe.Slice((*byte)(unsafe.Pointer(v.Pointer())), n)...)
			}
		}
		o = rrtfCount(o, 'L', v.Len())
		for i := 0; i < v.Len(); i++ {
			o = rrtfSnapIn(o, v.Index(i), open)
		}
		return o
	case reflect.Map:
		if v.IsNil() {
			return append(o, 'N')
		}
		if o, cyclic = at(v.Pointer()); cyclic {
			return o
		}
		open = append(open, v.Pointer())
		entries := make([]string, 0, v.Len())
		it := v.MapRange()
		for it.Next() {
			entries = append(entries, string(rrtfSnapIn(rrtfSnapIn(nil, it.Key(), open), it.Value(), open)))
		}
		sort.Strings(entries)
		o = rrtfCount(o, 'M', v.Len())
		for _, e := range entries {
			o = append(o, e...)
		}
		return o
	case reflect.Interface:
		if v.IsNil() {
			return append(o, 'N')
		}
		name := v.Elem().Type().String()
		o = rrtfCount(o, 'Y', len(name))
		return rrtfSnapIn(append(o, name...), v.Elem(), open)
	}
	e, err := rrtfEnc(nil, v, 0)
	if err != nil {
		e = append(e, '!')
	}
	return append(o, e...)
}

// rrtfFits: whether rrtfApply can write src into dst (a root's memory: a slice of the same
// length and capacity, a map, either in an interface{} holding the same type, or a value).
func rrtfFits(dst, src reflect.Value) bool {
	if dst.Kind() == reflect.Interface {
		if dst.IsNil() || src.IsNil() {
			return dst.IsNil() == src.IsNil()
		}
		if dst.Elem().Type() != src.Elem().Type() {
			return false
		}
		dst, src = dst.Elem(), src.Elem()
	}
	switch dst.Kind() {
	case reflect.Slice:
		if dst.IsNil() || src.IsNil() {
			return dst.IsNil() == src.IsNil()
		}
		return dst.Len() == src.Len() && dst.Cap() == src.Cap()
	case reflect.Map:
		return dst.IsNil() == src.IsNil()
	}
	return dst.CanSet()
}

// rrtfApply writes src (rrtfFits) into dst's memory, shallowly: a slice's elements to its
// capacity, a map's entries, as they are (what they hold was decoded as this side's memory where
// it is shared, see rrtfRefs, else as new memory).
func rrtfApply(dst, src reflect.Value) {
	if dst.Kind() == reflect.Interface {
		if dst.IsNil() {
			return
		}
		dst, src = dst.Elem(), src.Elem()
	}
	switch dst.Kind() {
	case reflect.Slice:
		if !dst.IsNil() && dst.Pointer() != src.Pointer() {
			reflect.Copy(dst.Slice(0, dst.Cap()), src.Slice(0, src.Cap()))
		}
		return
	case reflect.Map:
		if !dst.IsNil() && dst.Pointer() != src.Pointer() {
			for _, k := range dst.MapKeys() {
				if !src.MapIndex(k).IsValid() {
					dst.SetMapIndex(k, reflect.Value{})
				}
			}
			it := src.MapRange()
			for it.Next() {
				dst.SetMapIndex(it.Key(), it.Value())
			}
		}
		return
	}
	dst.Set(src)
}

func rrtfReadMsg(r *bufio.Reader) ([]byte, bool) {
	n, digits := 0, 0
	for {
		c, err := r.ReadByte()
		if err != nil {
			return nil, false
		}
		if c == '\n' && digits > 0 {
			break
		}
		if c < '0' || c > '9' || digits >= 10 {
			return nil, false
		}
		n = n*10 + int(c-'0')
		digits++
	}
	if n > 64<<20 {
		return nil, false
	}
	b := make([]byte, n)
	got := 0
	for got < n {
		k, err := r.Read(b[got:])
		if k == 0 && err != nil {
			return nil, false
		}
		got += k
	}
	return b, true
}

func rrtfWriteMsg(w *os.File, m []byte) bool {
	out := strconv.AppendInt(nil, int64(len(m)), 10)
	out = append(out, '\n')
	out = append(out, m...)
	for len(out) > 0 {
		k, err := w.Write(out)
		if err != nil {
			return false
		}
		out = out[k:]
	}
	return true
}

// ---- the candidate's side ----

func rrtfAnswer(dispatch func(int, *rrtfIn) ([]interface{}, error), msg []byte) (reply []byte) {
	fail := func(kind, what string) []byte {
		o := []byte{'X'}
		o, _ = rrtfEnc(o, reflect.ValueOf(kind), 0)
		o, _ = rrtfEnc(o, reflect.ValueOf(what), 0)
		return o
	}
	defer func() {
		if r := recover(); r != nil {
			reply = fail("error", fmt.Sprint("panic: ", r))
		}
	}()
	in := &rrtfIn{b: msg}
	id, err := in.count(';')
	if err != nil {
		return fail("error", "malformed call")
	}
	// The test's own changes, since the last call, to values the candidate keeps (`U<i>:`
	// before the arguments): written into the sample's memory first, as in one program the
	// sample holding them would see them (a sample that stores its argument and reads it at
	// a later call).
	// All decoded first, each reference resolved in the memory as it stands, then written.
	pre := &rrtfRefs{rootVals: rrtfValues(rrtfKeep)}
	type change struct {
		i int
		v reflect.Value
	}
	var changes []change
	for in.p < len(in.b) && in.b[in.p] == 'U' {
		in.p++
		i, err := in.count(':')
		if err != nil || i < 0 || i >= len(rrtfKeep) {
			return fail("error", "malformed call")
		}
		v, err := rrtfDecChange(in, rrtfKeep[i].v.Type(), pre)
		if err != nil || !rrtfFits(rrtfKeep[i].v, v) {
			return fail("error", "malformed call")
		}
		changes = append(changes, change{i, v})
	}
	pre.rrtfWriteAll()
	for _, c := range changes {
		rrtfApply(rrtfKeep[c.i].v, c.v)
	}
	for _, c := range changes {
		rrtfKeep[c.i].snap = rrtfSnap(rrtfKeep[c.i].v)
	}
	rrtfPending = rrtfPending[:0]
	rrtfPre = nil
	in.r = &rrtfRefs{rootVals: rrtfValues(rrtfKeep)}
	results, err := dispatch(id, in)
	if err != nil {
		return fail("error", err.Error())
	}
	refs := rrtfPre
	if refs == nil {
		return fail("error", "malformed call")
	}
	rrtfPre = nil
	// What the test will hold (this call's arguments among them): the roots of the results'
	// references, and whose changes cross after them; kept only once the answer is whole, as
	// the judge keeps them only from a whole answer.
	kept := append(append([]rrtfKept(nil), rrtfKeep...), rrtfPending...)
	o := []byte{'R'}
	if len(results) == 0 {
		o = append(o, 'V')
	}
	if len(results) > 1 {
		o = rrtfCount(o, 'P', len(results))
	}
	for _, p := range results {
		if o, err = rrtfEncRef(o, reflect.ValueOf(p).Elem(), 0, refs); err != nil {
			if refs.conflict != "" {
				return fail("error", "the sample returns "+refs.conflict+": the judge cannot share it as one program would")
			}
			return fail("error", err.Error())
		}
	}
	for i := range kept {
		if s := rrtfSnap(kept[i].v); !bytes.Equal(s, kept[i].snap) {
			kept[i].snap = s
			o = rrtfCount(o, 'U', i)
			refs.change, refs.changeRoot = true, i
			o, err = rrtfEncRef(o, kept[i].v, 0, refs)
			refs.change = false
			if err != nil {
				if refs.conflict != "" {
					return fail("error", "the sample leaves "+refs.conflict+" in a value the test holds: the judge cannot share it as one program would")
				}
				return fail("error", "a value the test holds changed into "+err.Error())
			}
		}
	}
	for _, p := range results {
		if v := reflect.ValueOf(p).Elem(); rrtfHasRef(v.Type()) && !rrtfHolds(rrtfValues(kept), v) {
			kept = append(kept, rrtfKept{v, rrtfSnap(v)})
		}
	}
	if drop := rrtfDrop(kept); drop > 0 {
		o = rrtfCount(o, 'E', drop)
		kept = kept[drop:]
	}
	rrtfKeep = kept
	return o
}

func rrtfServe(dispatch func(int, *rrtfIn) ([]interface{}, error)) {
	in := bufio.NewReader(os.NewFile(3, "calls"))
	out := os.NewFile(4, "answers")
	for {
		msg, ok := rrtfReadMsg(in)
		if !ok {
			return
		}
		if !rrtfWriteMsg(out, rrtfAnswer(dispatch, msg)) {
			return
		}
	}
}

// ---- the judge's side ----

var (
	rrtfReq                                              *os.File
	rrtfRep                                              *bufio.Reader
	rrtfReport                                           *os.File
	rrtfNonce                                            string
	rrtfSites                                            [][4]bool
	rrtfCalls, rrtfErrors, rrtfMarkCalls, rrtfMarkErrors int
	rrtfDead, rrtfTold, rrtfAnyFailed                    bool
	rrtfLastError                                        string
	rrtfFailure                                          string
	// The values the test holds that the candidate may change (the judge's copies, in the
	// candidate's rrtfKeep order).
	rrtfHeld []reflect.Value
	// rrtfHeldSnap: each held value's snapshot when it last crossed (either way).
	rrtfHeldSnap [][]byte
	// rrtfHeldMap: their memory as it stood at the last answer (see rrtfRefs).
	rrtfHeldMap *rrtfRefs
)

func rrtfOneline(s string) string {
	s = strings.NewReplacer("\n", " ", "\r", " ", "\t", " ").Replace(s)
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

func rrtfSay(line string) {
	rrtfReport.Write([]byte(rrtfNonce + " " + line + "\n"))
}

func rrtfCandError(kind, msg string) {
	rrtfErrors++
	rrtfLastError = msg
	if !rrtfTold {
		rrtfTold = true
		rrtfSay("E " + kind + " " + rrtfOneline(msg))
	}
}

// rrtfMu makes one call (a request and its answer on the pipes) and one check's counting
// whole when a test's subtests run in parallel (`t.Parallel()`).
var rrtfMu sync.Mutex

// rrtfCall sends a call; on any failure of the candidate the results keep their zero values
// and the failure fails the check it happened in.
func rrtfCall(id int, args []interface{}, results []interface{}) {
	rrtfMu.Lock()
	defer rrtfMu.Unlock()
	rrtfCalls++
	if rrtfDead {
		rrtfCandError("died", "the candidate process is gone")
		return
	}
	o := strconv.AppendInt(nil, int64(id), 10)
	o = append(o, ';')
	var err error
	// What the test changed since the last call of the values both sides keep (see
	// rrtfKeep): sent first, for the candidate to write into the sample's copies; their
	// references are paths into the memory as it stood at the last answer (rrtfHeldMap).
	hm := rrtfHeldMap
	if hm == nil {
		hm = rrtfRefsNow(rrtfHeld, true)
	}
	rrtfHeldMap = nil
	defer func() {
		if len(rrtfHeld) > 0 {
			rrtfHeldMap = rrtfRefsNow(rrtfHeld, true)
		}
	}()
	for i, h := range rrtfHeld {
		if s := rrtfSnap(h); !bytes.Equal(s, rrtfHeldSnap[i]) {
			o = rrtfCount(o, 'U', i)
			hm.change, hm.changeRoot = true, i
			o, err = rrtfEncRef(o, h, 0, hm)
			hm.change = false
			if err != nil {
				if hm.conflict != "" {
					rrtfSay("U the test makes " + hm.conflict + " in a value it shares with the sample: the judge's copies cannot share it")
				} else {
					rrtfSay("U the test changes a value it shares with the sample into " + rrtfOneline(err.Error()))
				}
				rrtfCandError("error", err.Error())
				return
			}
			rrtfHeldSnap[i] = s
		}
	}
	refs := rrtfRefsOf(rrtfHeld, true)
	for _, p := range args {
		if o, err = rrtfEncRef(o, reflect.ValueOf(p).Elem(), 0, refs); err != nil {
			if refs.conflict != "" {
				rrtfSay("U " + refs.conflict)
			} else {
				rrtfSay("U the test passes " + rrtfOneline(err.Error()))
			}
			rrtfCandError("error", err.Error())
			return
		}
	}
	if !rrtfWriteMsg(rrtfReq, o) {
		rrtfDead = true
		rrtfCandError("died", "the candidate process ended during a call")
		return
	}
	answer, ok := rrtfReadMsg(rrtfRep)
	if !ok {
		rrtfDead = true
		rrtfCandError("died", "the candidate process ended during a call")
		return
	}
	in := &rrtfIn{b: answer}
	tag, _ := in.get()
	switch tag {
	case 'R':
		err := func() error {
			// The values the test holds that the sample may have changed (see rrtfKeep):
			// earlier ones and this call's arguments (the stub's parameters share the test's
			// memory); the roots of the results' references.
			held := append([]reflect.Value(nil), rrtfHeld...)
			for _, p := range args {
				if v := reflect.ValueOf(p).Elem(); rrtfHasRef(v.Type()) && !rrtfHolds(held, v) {
					held = append(held, v)
				}
			}
			refs := &rrtfRefs{rootVals: held}
			vals := make([]reflect.Value, len(results))
			if len(results) == 0 {
				if t, e := in.get(); e != nil || t != 'V' {
					return rrtfMalformed{"a value where none is declared"}
				}
			} else {
				if len(results) > 1 {
					if t, e := in.get(); e != nil || t != 'P' {
						return rrtfMalformed{"not a list of results"}
					}
					if n, e := in.count(':'); e != nil || n != len(results) {
						return rrtfMalformed{"wrong number of results"}
					}
				}
				for i, p := range results {
					v, e := rrtfDecRef(in, reflect.ValueOf(p).Elem().Type(), 0, refs)
					if e != nil {
						return e
					}
					vals[i] = v
				}
			}
			type change struct {
				i int
				v reflect.Value
			}
			var changes []change
			drop := 0
			for in.p < len(in.b) {
				t, e := in.get()
				if e == nil && t == 'E' {
					// How many kept values the candidate dropped: the answer's end.
					if drop, e = in.count(':'); e != nil || drop < 1 || in.p != len(in.b) {
						return rrtfMalformed{"a malformed drop"}
					}
					break
				}
				if e != nil || t != 'U' {
					return rrtfMalformed{"trailing bytes"}
				}
				i, e := in.count(':')
				if e != nil || i < 0 || i >= len(held) {
					return rrtfMalformed{"a change of no value the test holds"}
				}
				v, e := rrtfDecChange(in, held[i].Type(), refs)
				if e != nil {
					return e
				}
				if !rrtfFits(held[i], v) {
					return rrtfMalformed{"a change of another shape than the value the test holds"}
				}
				changes = append(changes, change{i, v})
			}
			refs.rrtfWriteAll()
			for _, c := range changes {
				rrtfApply(held[c.i], c.v)
			}
			for i, p := range results {
				reflect.ValueOf(p).Elem().Set(vals[i])
			}
			for _, p := range results {
				if v := reflect.ValueOf(p).Elem(); rrtfHasRef(v.Type()) && !rrtfHolds(held, v) {
					held = append(held, v)
				}
			}
			if drop > len(held) {
				return rrtfMalformed{"a drop of more values than held"}
			}
			if drop > 0 && !rrtfDropped {
				rrtfDropped = true
				rrtfSay(fmt.Sprintf("U the test holds more of the sample's slices and maps than the judge watches for the sample's later changes (%d values, %d MiB of them): a change to one no longer watched would go unseen", rrtfKeepMax, rrtfKeepBytes>>20))
			}
			// Each value's snapshot as it is now: an earlier one's carried over unless the
			// sample changed it, this call's arguments and results taken.
			written := make(map[int]bool, len(changes))
			for _, c := range changes {
				written[c.i] = true
			}
			snaps := make([][]byte, 0, len(held)-drop)
			for i := drop; i < len(held); i++ {
				if i < len(rrtfHeldSnap) && !written[i] {
					snaps = append(snaps, rrtfHeldSnap[i])
				} else {
					snaps = append(snaps, rrtfSnap(held[i]))
				}
			}
			rrtfHeld, rrtfHeldSnap = held[drop:], snaps
			return nil
		}()
		if err != nil {
			rrtfCandError("error", "the answer is not a plain value of the declared type: "+err.Error())
		}
	case 'X':
		k, e1 := rrtfDec(in, reflect.TypeOf(""), 0)
		m, e2 := rrtfDec(in, reflect.TypeOf(""), 0)
		if e1 != nil || e2 != nil {
			rrtfCandError("error", "a malformed failure")
		} else if k.String() == "memory" {
			rrtfCandError("memory", m.String())
		} else {
			rrtfCandError("error", m.String())
		}
	default:
		rrtfCandError("error", "not an answer")
	}
}

func rrtfSiteEvent(site int, ok, called, errored bool, why string) {
	if site < 0 || site >= len(rrtfSites) {
		return
	}
	s := &rrtfSites[site]
	b := *s
	s[0] = true
	s[1] = s[1] || !ok
	s[2] = s[2] || called
	s[3] = s[3] || errored
	if !ok {
		rrtfAnyFailed = true
	}
	if !b[0] || s[1] != b[1] || s[2] != b[2] || s[3] != b[3] {
		flag := func(x bool) string {
			if x {
				return "1"
			}
			return "0"
		}
		detail := ""
		if !ok && !b[1] {
			detail = rrtfOneline(why)
		}
		rrtfSay(fmt.Sprintf("S %d %s %s %s %s", site, flag(s[1]), flag(s[2]), flag(s[3]), detail))
	}
}

// rrtfCheck counts one check site; `ok` is what testify's assertion returned.
func rrtfCheck(site int, ok bool) bool {
	rrtfMu.Lock()
	defer rrtfMu.Unlock()
	called := rrtfCalls > rrtfMarkCalls
	errored := rrtfErrors > rrtfMarkErrors
	rrtfMarkCalls, rrtfMarkErrors = rrtfCalls, rrtfErrors
	why := ""
	if errored {
		why = "the candidate failed: " + rrtfLastError
	}
	rrtfSiteEvent(site, ok && !errored, called, errored, why)
	return ok
}

func rrtfJudgeStart(n int) {
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	rrtfNonce = strings.TrimSpace(line)
	rrtfReport = os.NewFile(3, "report")
	rrtfReq = os.NewFile(4, "calls")
	rrtfRep = bufio.NewReader(os.NewFile(5, "answers"))
	if n < 1 {
		rrtfSites = make([][4]bool, 1)
	} else {
		rrtfSites = make([][4]bool, n)
	}
}

func rrtfTestPanic(r interface{}) {
	if rrtfFailure == "" {
		rrtfFailure = fmt.Sprint("the test panicked: ", r)
	}
}

func rrtfJudgeDone(n int, code int) {
	if n == 0 {
		ok := code == 0 && rrtfErrors == 0 && rrtfFailure == ""
		why := rrtfFailure
		if why == "" {
			why = "the test failed"
			if rrtfErrors > 0 {
				why = "the candidate failed: " + rrtfLastError
			}
		}
		rrtfSiteEvent(0, ok, rrtfCalls > 0, rrtfErrors > 0, why)
	} else {
		if rrtfFailure != "" {
			rrtfSay("T " + rrtfOneline(rrtfFailure))
		}
		if code != 0 && !rrtfAnyFailed {
			rrtfSay("F a test failed outside testify's assertions (t.Error, t.Fatal)")
		}
	}
	rrtfSay(fmt.Sprintf("D %d", n))
}
