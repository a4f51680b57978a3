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
// A call is "<id>;" and its arguments; an answer R<results> or X<kind string><message string>.
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
			var err error
			if o, done, err = r.enc(o, v); done || err != nil {
				return o, err
			}
		}
		n := v.Len()
		if v.Kind() == reflect.Slice && v.Cap() > n {
			o = rrtfCount(o, 'C', v.Cap())
			o = strconv.AppendInt(o, int64(n), 10)
			o = append(o, ':')
			v = v.Slice(0, v.Cap())
			n = v.Len()
		} else {
			o = rrtfCount(o, 'L', n)
		}
		var err error
		for i := 0; i < n; i++ {
			if o, err = rrtfEncRef(o, v.Index(i), depth+1, r); err != nil {
				return o, err
			}
		}
		return o, nil
	case reflect.Map:
		if v.IsNil() {
			return append(o, 'N'), nil
		}
		if r != nil {
			var done bool
			var err error
			if o, done, err = r.enc(o, v); done || err != nil {
				return o, err
			}
		}
		o = rrtfCount(o, 'M', v.Len())
		var err error
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

type rrtfIn struct {
	b []byte
	p int
	// r: the references a call's arguments may hold (the candidate's side, see rrtfRefs).
	r *rrtfRefs
}

// Memory the test and the sample share. In one program a slice the test passes may lie in one
// the sample returned earlier (and still writes: a package buffer), one argument may hold one
// row twice, a result may be its argument. Each side's values are its own copies, so such
// sharing crosses as a reference the other side resolves in its own copy of that memory: a
// slice inside the elements of a value both sides hold (the roots: rrtfKeep and rrtfHeld, in
// one order, with this call's arguments after them in an answer), found by a path of indices,
// is `K<root>:<depth>:<index>:...:<offset>:<length>:<capacity>:`; one inside a slice sent
// earlier in the same message is `B<k>:<offset>:<length>:<capacity>:` (k counts the message's
// slices and maps in the order sent); a map is `K<root>:<depth>:<index>:...:` or `B<k>:`.
// "Inside" is by capacity: a slice's spare elements cross with it (`C`), so a result that is
// `append(xs, v)` into its argument's spare capacity is that argument's memory on both sides
// (called twice on one base, the two results share it), and so is the test's slice grown in
// place and passed again. A slice of no capacity is never a reference (an empty slice's
// address says nothing of whose it is). The judge refuses a call whose arguments overlap each
// other in a way it cannot share (a[1:] before a): `U`, crashed. Not shared: a slice that
// overlaps a kept one without lying inside it (one cut short by a three-index slice) crosses
// as a copy.
type rrtfRefs struct {
	of    []reflect.Value // the roots, walked at the first slice or map encoded
	built bool
	roots []rrtfSpan // encoding: the roots' slices and maps, by address
	msg   []rrtfSpan // encoding: this message's so far
	// strict: overlapping memory that is no reference is refused (the judge's calls); an
	// answer's result sent as a copy instead is what the judge had before references.
	strict   bool
	conflict string
	// decoding
	rootVals []reflect.Value
	madeVals []reflect.Value
}

type rrtfSpan struct {
	lo, hi, chi uintptr // elements by length, by capacity (a map: its address)
	t           reflect.Type
	root        int
	path        []int
}

func rrtfSpanOf(v reflect.Value) rrtfSpan {
	lo := v.Pointer()
	if v.Kind() == reflect.Map {
		return rrtfSpan{lo: lo, hi: lo + 1, chi: lo + 1, t: v.Type()}
	}
	size := v.Type().Elem().Size()
	return rrtfSpan{lo: lo, hi: lo + uintptr(v.Len())*size, chi: lo + uintptr(v.Cap())*size, t: v.Type()}
}

// rrtfRefsOf: references into roots, for a message (each root's slices and maps, by a path of
// slice and array indices, through interfaces; a map's contents are not walked). The walk is
// made when the message first holds a slice or map (build): a call of numbers and strings,
// or an answer of one, costs none.
func rrtfRefsOf(roots []reflect.Value, strict bool) *rrtfRefs {
	return &rrtfRefs{strict: strict, of: roots}
}

func (r *rrtfRefs) build() {
	if r.built {
		return
	}
	r.built = true
	var walk func(v reflect.Value, root int, path []int, depth int)
	walk = func(v reflect.Value, root int, path []int, depth int) {
		if depth > 64 {
			return
		}
		switch v.Kind() {
		case reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem(), root, path, depth+1)
			}
			return
		case reflect.Map:
			if !v.IsNil() {
				s := rrtfSpanOf(v)
				s.root, s.path = root, append([]int(nil), path...)
				r.roots = append(r.roots, s)
			}
			return
		case reflect.Slice:
			if v.IsNil() {
				return
			}
			if v.Cap() > 0 && v.Type().Elem().Size() > 0 {
				s := rrtfSpanOf(v)
				s.root, s.path = root, append([]int(nil), path...)
				r.roots = append(r.roots, s)
			}
		case reflect.Array:
		default:
			return
		}
		switch v.Type().Elem().Kind() {
		case reflect.Slice, reflect.Array, reflect.Map, reflect.Interface:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i), root, append(path, i), depth+1)
			}
		}
	}
	for i, v := range r.of {
		walk(v, i, nil, 0)
	}
	sort.SliceStable(r.roots, func(a, b int) bool { return r.roots[a].lo < r.roots[b].lo })
}

// enc: v (a non-nil slice or map) as a reference if it lies in memory the other side has
// (done), else registered as this message's next; an overlap it cannot share is an error when
// strict.
func (r *rrtfRefs) enc(o []byte, v reflect.Value) ([]byte, bool, error) {
	r.build()
	sp := rrtfSpanOf(v)
	isMap := v.Kind() == reflect.Map
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
	// The roots, sorted by address: those starting at or before v, nearest first, then those
	// starting inside it (a bounded look: a missed holder can only refuse, never pass).
	at := sort.Search(len(r.roots), func(i int) bool { return r.roots[i].lo > sp.lo })
	for i, seen := at-1, 0; i >= 0 && seen < 64; i, seen = i-1, seen+1 {
		s := r.roots[i]
		if off, ok := inside(s); ok {
			o = rrtfCount(o, 'K', s.root)
			o = strconv.AppendInt(o, int64(len(s.path)), 10)
			o = append(o, ':')
			for _, p := range s.path {
				o = strconv.AppendInt(o, int64(p), 10)
				o = append(o, ':')
			}
			return ref(o, off), true, nil
		}
	}
	for k, s := range r.msg {
		if off, ok := inside(s); ok {
			o = rrtfCount(o, 'B', k)
			return ref(o, off), true, nil
		}
	}
	// Memory that overlaps a root's without lying inside it (a[1:] kept, a passed; one cut
	// short by a three-index slice) crosses as a copy: the sample sees no sharing with what
	// it kept.
	if r.strict {
		for _, s := range r.msg {
			if overlaps(s) {
				r.conflict = "the test passes one slice's memory twice, the later not lying inside the earlier's capacity (a[1:], then a): the sample would see the one through the other, the judge's copies cannot"
			}
		}
		if r.conflict != "" {
			return o, true, rrtfMalformed{r.conflict}
		}
	}
	r.msg = append(r.msg, sp)
	return o, false, nil
}

// made: a slice or map just decoded (the message's next, for `B` references).
func (r *rrtfRefs) made(v reflect.Value) {
	if r != nil {
		r.madeVals = append(r.madeVals, v)
	}
}

// dec: the value a reference (after its tag) stands for, of type t.
func (r *rrtfRefs) dec(in *rrtfIn, tag byte, t reflect.Type) (reflect.Value, error) {
	bad := rrtfMalformed{"a reference to no shared memory of its type"}
	var v reflect.Value
	if tag == 'B' {
		k, err := in.count(':')
		if err != nil || k >= len(r.madeVals) {
			return v, bad
		}
		v = r.madeVals[k]
	} else {
		root, err := in.count(':')
		if err != nil || root >= len(r.rootVals) {
			return v, bad
		}
		depth, err := in.count(':')
		if err != nil || depth > 64 {
			return v, bad
		}
		v = r.rootVals[root]
		for d := 0; d < depth; d++ {
			for v.Kind() == reflect.Interface && !v.IsNil() {
				v = v.Elem()
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
	if v.Type() != t || v.IsNil() {
		return v, bad
	}
	if t.Kind() == reflect.Map {
		return v, nil
	}
	off, err := in.count(':')
	if err != nil {
		return v, bad
	}
	n, err := in.count(':')
	if err != nil {
		return v, bad
	}
	c, err := in.count(':')
	if err != nil || c < 1 || n > c || off+c > v.Cap() {
		return v, bad
	}
	return v.Slice3(off, off+n, off+c), nil
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
	if (tag == 'K' || tag == 'B') && (t.Kind() == reflect.Slice || t.Kind() == reflect.Map) {
		if r == nil {
			return bad("a reference")
		}
		shared, err := r.dec(in, tag, t)
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
	for _, p := range ptrs {
		if e := reflect.ValueOf(p).Elem(); rrtfHasRef(e.Type()) {
			rrtfPending = append(rrtfPending, rrtfKept{e, rrtfSnap(e)})
		}
	}
	return nil
}

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
const rrtfKeepBytes = 4 << 20

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
// into spare capacity changes memory the other side shares).
func rrtfSnap(v reflect.Value) []byte {
	switch v.Kind() {
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return []byte{'N'}
		}
		if v.Kind() == reflect.Slice && v.Cap() > v.Len() {
			o := rrtfCount(nil, 'C', v.Cap())
			return append(o, rrtfSnap(v.Slice(0, v.Cap()))...)
		}
		// Numbers and booleans (no pointers): their memory as it is, in one copy.
		if v.Kind() == reflect.Slice && v.Len() > 0 {
			switch v.Type().Elem().Kind() {
			case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
				reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
				reflect.Float32, reflect.Float64:
				n := v.Len() * int(v.Type().Elem().Size())
				o := rrtfCount(nil, 'B', v.Len())
				return append(o, unsafe.Slice((*byte)(unsafe.Pointer(v.Pointer())), n)...)
			}
		}
		o := rrtfCount(nil, 'L', v.Len())
		for i := 0; i < v.Len(); i++ {
			o = append(o, rrtfSnap(v.Index(i))...)
		}
		return o
	case reflect.Map:
		if v.IsNil() {
			return []byte{'N'}
		}
		entries := make([]string, 0, v.Len())
		it := v.MapRange()
		for it.Next() {
			entries = append(entries, string(rrtfSnap(it.Key()))+string(rrtfSnap(it.Value())))
		}
		sort.Strings(entries)
		o := rrtfCount(nil, 'M', v.Len())
		for _, e := range entries {
			o = append(o, e...)
		}
		return o
	case reflect.Interface:
		if v.IsNil() {
			return []byte{'N'}
		}
		name := v.Elem().Type().String()
		o := rrtfCount(nil, 'Y', len(name))
		return append(append(o, name...), rrtfSnap(v.Elem())...)
	}
	o, err := rrtfEnc(nil, v, 0)
	if err != nil {
		return append(o, '!')
	}
	return o
}

// rrtfWriteInto writes src into dst in place where the test may share dst's memory: a slice's
// elements to its capacity (same length and capacity), a map's entries; anything else is set
// (a row the sample replaced by one of another length or capacity: the test's old row keeps
// its contents, as in one program).
func rrtfWriteInto(dst, src reflect.Value) {
	switch dst.Kind() {
	case reflect.Slice, reflect.Array:
		if dst.Kind() == reflect.Array {
			for i := 0; i < dst.Len(); i++ {
				rrtfWriteInto(dst.Index(i), src.Index(i))
			}
			return
		}
		if rrtfSameShape(dst, src) {
			d, s := dst.Slice(0, dst.Cap()), src.Slice(0, src.Cap())
			for i := 0; i < d.Len(); i++ {
				rrtfWriteInto(d.Index(i), s.Index(i))
			}
			return
		}
	case reflect.Map:
		if !dst.IsNil() && !src.IsNil() {
			for _, k := range dst.MapKeys() {
				if !src.MapIndex(k).IsValid() {
					dst.SetMapIndex(k, reflect.Value{})
				}
			}
			// A value the test may hold too (a slice under a key shares its array, a map is
			// one map): written into where it can be, so the test's holder sees the change.
			it := src.MapRange()
			for it.Next() {
				old := dst.MapIndex(it.Key())
				if old.IsValid() && rrtfSameShape(old, it.Value()) {
					rrtfWriteInto(old, it.Value())
				} else {
					dst.SetMapIndex(it.Key(), it.Value())
				}
			}
			return
		}
	case reflect.Interface:
		// A slice or map in an `interface{}` (a result the test stored as one): its memory,
		// which the test shares, is written.
		if !dst.IsNil() && !src.IsNil() && dst.Elem().Type() == src.Elem().Type() {
			if k := dst.Elem().Kind(); k == reflect.Slice || k == reflect.Map {
				rrtfWriteInto(dst.Elem(), src.Elem())
				return
			}
		}
	}
	if dst.CanSet() {
		dst.Set(src)
	}
}

// rrtfSameShape: whether rrtfWriteInto writes src into dst's own memory (a slice of the same
// length and capacity, a map, either in an interface{} holding the same type), not a new value into dst.
func rrtfSameShape(dst, src reflect.Value) bool {
	if dst.Kind() == reflect.Interface {
		if dst.IsNil() || src.IsNil() || dst.Elem().Type() != src.Elem().Type() {
			return false
		}
		dst, src = dst.Elem(), src.Elem()
	}
	switch dst.Kind() {
	case reflect.Slice:
		return !dst.IsNil() && !src.IsNil() && dst.Len() == src.Len() && dst.Cap() == src.Cap()
	case reflect.Map:
		return !dst.IsNil() && !src.IsNil()
	}
	return false
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
	for in.p < len(in.b) && in.b[in.p] == 'U' {
		in.p++
		i, err := in.count(':')
		if err != nil || i < 0 || i >= len(rrtfKeep) {
			return fail("error", "malformed call")
		}
		v, err := rrtfDec(in, rrtfKeep[i].v.Type(), 0)
		if err != nil {
			return fail("error", "malformed call")
		}
		rrtfWriteInto(rrtfKeep[i].v, v)
		rrtfKeep[i].snap = rrtfSnap(rrtfKeep[i].v)
	}
	rrtfPending = rrtfPending[:0]
	in.r = &rrtfRefs{rootVals: rrtfValues(rrtfKeep)}
	results, err := dispatch(id, in)
	if err != nil {
		return fail("error", err.Error())
	}
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
	refs := rrtfRefsOf(rrtfValues(kept), false)
	for _, p := range results {
		if o, err = rrtfEncRef(o, reflect.ValueOf(p).Elem(), 0, refs); err != nil {
			return fail("error", err.Error())
		}
	}
	for i := range kept {
		if s := rrtfSnap(kept[i].v); !bytes.Equal(s, kept[i].snap) {
			kept[i].snap = s
			o = rrtfCount(o, 'U', i)
			if o, err = rrtfEnc(o, kept[i].v, 0); err != nil {
				return fail("error", "a value the test holds changed into "+err.Error())
			}
		}
	}
	for _, p := range results {
		if v := reflect.ValueOf(p).Elem(); rrtfHasRef(v.Type()) {
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
	// rrtfKeep): sent first, for the candidate to write into the sample's copies.
	for i, h := range rrtfHeld {
		if s := rrtfSnap(h); !bytes.Equal(s, rrtfHeldSnap[i]) {
			o = rrtfCount(o, 'U', i)
			if o, err = rrtfEnc(o, h, 0); err != nil {
				rrtfSay("U the test changes a value it shares with the sample into " + rrtfOneline(err.Error()))
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
				if v := reflect.ValueOf(p).Elem(); rrtfHasRef(v.Type()) {
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
				v, e := rrtfDec(in, held[i].Type(), 0)
				if e != nil {
					return e
				}
				changes = append(changes, change{i, v})
			}
			for i, p := range results {
				reflect.ValueOf(p).Elem().Set(vals[i])
			}
			for _, c := range changes {
				rrtfWriteInto(held[c.i], c.v)
			}
			for _, p := range results {
				if v := reflect.ValueOf(p).Elem(); rrtfHasRef(v.Type()) {
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
