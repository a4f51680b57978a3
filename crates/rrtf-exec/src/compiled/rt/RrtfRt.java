// rrtf-exec's Java runtime, compiled into both programs of a judged run:
// - the candidate (the sample's code, this, RrtfServe) reads calls on fd 3, answers on fd 4;
// - the judge (the test, stub classes, this, RrtfJudge) sends calls, decodes answers into fresh
//   JDK values (ArrayList, LinkedHashMap, Integer, ...: their own equals), counts check sites
//   and reports on fd 3.
// Wire format (messages are "<decimal length>\n<payload>"): N null, T/F Boolean, i/l/h/y/c
// <decimal>; Integer/Long/Short/Byte/Character, d/f<16 hex> Double/Float (double bits),
// w<n>:<UTF-16LE bytes> String, L<n>: List, E<n>: Set, M<n>: Map, O0/O1<value> Optional,
// V void; K<kind> before a List, Set or Map that is not a plain modifiable one (see `kind`).
// A call is "<id>;" and a List of arguments; an answer R<value> or X<kind><message>.
import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

final class RrtfRt {
    private RrtfRt() {}

    static final Object VOID = new Object();

    static final class Malformed extends Exception {
        Malformed(String m) {
            super(m);
        }
    }

    static final class CandidateError extends RuntimeException {
        CandidateError(String m) {
            super(m);
        }
    }

    // ---- codec ----

    private static void count(ByteArrayOutputStream o, char tag, long n) {
        o.write(tag);
        byte[] d = (Long.toString(n) + ":").getBytes(StandardCharsets.ISO_8859_1);
        o.write(d, 0, d.length);
    }

    private static void ascii(ByteArrayOutputStream o, String s) {
        byte[] d = s.getBytes(StandardCharsets.ISO_8859_1);
        o.write(d, 0, d.length);
    }

    private static String hex(double d) {
        String h = Long.toHexString(Double.doubleToRawLongBits(d));
        return "0000000000000000".substring(h.length()) + h;
    }

    // ---- what a collection is ----
    //
    // The candidate reads a List, Set or Map it returns with the collection's own methods
    // (`toArray`, `entrySet`), where the test in one program reads it with others (`equals`,
    // `get`, an iterator): a class of the sample's (an anonymous `ArrayList` whose `toArray`
    // sorts) would cross as something the test never sees. So only the JDK's own collections
    // are plain values: the exact class loaded by the bootstrap loader, and every collection,
    // map or comparator it holds (an unmodifiable view's backing list, a sub-list's root, a key
    // set's map, a TreeSet's comparator, which decides its `contains` and so the test's
    // `equals`) the JDK's own too, read with `sun.misc.Unsafe` (no code of the sample's runs,
    // and no package is opened to the sample). Without Unsafe, only collections that hold no
    // other are.

    private static Object unsafe;
    private static Method unsafeOffset, unsafeGet;
    private static boolean unsafeTried;
    private static final Map<Class<?>, long[]> offsets = new HashMap<>();

    private static synchronized boolean unsafe() {
        if (!unsafeTried) {
            unsafeTried = true;
            try {
                Class<?> c = Class.forName("sun.misc.Unsafe");
                Field f = c.getDeclaredField("theUnsafe");
                f.setAccessible(true);
                Object u = f.get(null);
                unsafeOffset = c.getMethod("objectFieldOffset", Field.class);
                unsafeGet = c.getMethod("getObject", Object.class, long.class);
                unsafe = u;
            } catch (Throwable e) {
                unsafe = null;
            }
        }
        return unsafe != null;
    }

    /** The offsets of the reference fields of `c` and its superclasses; null when they cannot
     * be read. */
    private static synchronized long[] refFields(Class<?> c) {
        if (offsets.containsKey(c)) return offsets.get(c);
        long[] out = null;
        if (unsafe()) {
            try {
                ArrayList<Long> l = new ArrayList<>();
                for (Class<?> k = c; k != null; k = k.getSuperclass()) {
                    for (Field f : k.getDeclaredFields()) {
                        if (Modifier.isStatic(f.getModifiers()) || f.getType().isPrimitive()) continue;
                        l.add((Long) unsafeOffset.invoke(unsafe, f));
                    }
                }
                out = new long[l.size()];
                for (int i = 0; i < out.length; i++) out[i] = l.get(i);
            } catch (Throwable e) {
                out = null;
            }
        }
        offsets.put(c, out);
        return out;
    }

    private static Object read(Object o, long offset) {
        try {
            return unsafeGet.invoke(unsafe, o, offset);
        } catch (Throwable e) {
            throw new IllegalArgumentException("not a plain value: a " + o.getClass().getName() + " that cannot be read");
        }
    }

    /** The field `name` of the JDK class `owner` in `o` (an instance of it), or null. */
    private static Object field(Object o, String owner, String name) {
        if (!unsafe()) return null;
        try {
            Field f = Class.forName(owner).getDeclaredField(name);
            return unsafeGet.invoke(unsafe, o, (Long) unsafeOffset.invoke(unsafe, f));
        } catch (Throwable e) {
            return null;
        }
    }

    private static Class<?> jdk(String name) {
        try {
            return Class.forName(name);
        } catch (ClassNotFoundException e) {
            return null;
        }
    }

    private static final Class<?> UNMODIFIABLE = jdk("java.util.Collections$UnmodifiableCollection");
    private static final Class<?> UNMODIFIABLE_MAP = jdk("java.util.Collections$UnmodifiableMap");
    private static final Class<?> SYNCHRONIZED = jdk("java.util.Collections$SynchronizedCollection");
    private static final Class<?> SYNCHRONIZED_MAP = jdk("java.util.Collections$SynchronizedMap");
    private static final Class<?> CHECKED = jdk("java.util.Collections$CheckedCollection");
    private static final Class<?> CHECKED_MAP = jdk("java.util.Collections$CheckedMap");

    private static boolean isA(Object o, Class<?> c) {
        return c != null && c.isInstance(o);
    }

    /** What the synchronized or checked view `v` wraps (null: not such a view, or unreadable). */
    private static Object wrapped(Object v) {
        for (Class<?> c : new Class<?>[] {SYNCHRONIZED, CHECKED}) {
            if (isA(v, c)) return field(v, c.getName(), "c");
        }
        for (Class<?> c : new Class<?>[] {SYNCHRONIZED_MAP, CHECKED_MAP}) {
            if (isA(v, c)) return field(v, c.getName(), "m");
        }
        return null;
    }

    /** Collections of the JDK that hold no other collection (what is accepted without Unsafe). */
    private static final Set<String> SELF_CONTAINED = new java.util.HashSet<>(Arrays.asList(
            "java.util.ArrayList", "java.util.LinkedList", "java.util.Vector", "java.util.Stack",
            "java.util.HashSet", "java.util.LinkedHashSet", "java.util.TreeSet",
            "java.util.HashMap", "java.util.LinkedHashMap", "java.util.TreeMap", "java.util.Hashtable",
            "java.util.ImmutableCollections$List12", "java.util.ImmutableCollections$ListN",
            "java.util.ImmutableCollections$SubList", "java.util.ImmutableCollections$Set12",
            "java.util.ImmutableCollections$SetN", "java.util.ImmutableCollections$Map1",
            "java.util.ImmutableCollections$MapN", "java.util.Arrays$ArrayList",
            "java.util.Collections$EmptyList", "java.util.Collections$EmptySet",
            "java.util.Collections$EmptyMap", "java.util.Collections$SingletonList",
            "java.util.Collections$SingletonSet", "java.util.Collections$SingletonMap",
            "java.util.Collections$CopiesList"));

    /** Why `v` (a List, Set, Map, or a comparator one holds) is not the JDK's own (see above),
     * or null when it is. */
    static String foreign(Object v, IdentityHashMap<Object, Boolean> seen) {
        Class<?> c = v.getClass();
        if (c.getClassLoader() != null) {
            Class<?> s = c.getSuperclass();
            while (s != null && s.getClassLoader() != null) s = s.getSuperclass();
            String jdk = s == null || s == Object.class ? "" : ", a subclass of " + s.getName();
            return "a " + c.getName() + " (a class of the sample's" + jdk + ")";
        }
        if (seen.put(v, Boolean.TRUE) != null) return null;
        long[] offs = refFields(c);
        if (offs == null) {
            return SELF_CONTAINED.contains(c.getName()) ? null : "a " + c.getName() + " (the executor cannot see what it holds)";
        }
        for (long off : offs) {
            Object x = read(v, off);
            if (x instanceof Collection || x instanceof Map || x instanceof java.util.Comparator) {
                String why = foreign(x, seen);
                if (why != null) return "a " + c.getName() + " over " + why;
            }
        }
        return null;
    }

    /** How the judge rebuilds the JDK collection `v` (see `rebuild`): 0 for a plain modifiable
     * one (an ArrayList, LinkedHashSet or LinkedHashMap), else its kind: 'o' immutable and
     * refusing nulls (`List.of`, `Set.of`, `Map.of`, `copyOf`, `Collectors.toUnmodifiable*`),
     * 'n' an immutable list holding nulls (`Stream.toList`), 'u' an unmodifiable view
     * (`Collections.unmodifiable*`), 'a' fixed-size (`Arrays.asList`), 'e' `Collections.empty*`,
     * 's' `Collections.singleton*`, 'c' `Collections.nCopies`, 'k' a map's key set (no `add`).
     * A synchronized or checked view is what it wraps. */
    static char kind(Object v) {
        if (v.getClass().getClassLoader() != null) return 0;
        String n = v.getClass().getName();
        if (n.startsWith("java.util.ImmutableCollections$")) {
            if (!(v instanceof List)) return 'o';
            try {
                ((List<?>) v).contains(null);
                return 'n';
            } catch (NullPointerException e) {
                return 'o';
            }
        }
        if (isA(v, UNMODIFIABLE) || isA(v, UNMODIFIABLE_MAP)) return 'u';
        if (isA(v, SYNCHRONIZED) || isA(v, CHECKED) || isA(v, SYNCHRONIZED_MAP) || isA(v, CHECKED_MAP)) {
            Object w = wrapped(v);
            return w == null ? 0 : kind(w);
        }
        switch (n) {
            case "java.util.Arrays$ArrayList":
                return 'a';
            case "java.util.Collections$EmptyList":
            case "java.util.Collections$EmptySet":
            case "java.util.Collections$EmptyMap":
                return 'e';
            case "java.util.Collections$SingletonList":
            case "java.util.Collections$SingletonSet":
            case "java.util.Collections$SingletonMap":
                return 's';
            case "java.util.Collections$CopiesList":
                return 'c';
            case "java.util.HashMap$KeySet":
            case "java.util.LinkedHashMap$LinkedKeySet":
            case "java.util.TreeMap$KeySet":
            case "java.util.Hashtable$KeySet":
            case "java.util.WeakHashMap$KeySet":
            case "java.util.IdentityHashMap$KeySet":
            case "java.util.EnumMap$KeySet":
            case "java.util.concurrent.ConcurrentSkipListMap$KeySet":
                return 'k';
            case "java.util.concurrent.ConcurrentHashMap$KeySetView":
                return ((java.util.concurrent.ConcurrentHashMap.KeySetView<?, ?>) v).getMappedValue() == null ? 'k' : 0;
            case "java.util.AbstractMap$1": {
                Object m = field(v, n, "this$0");
                return m != null && kind(m) == 'o' ? 'o' : 'k';
            }
            case "java.util.AbstractList$SubList":
            case "java.util.AbstractList$RandomAccessSubList": {
                Object root = field(v, "java.util.AbstractList$SubList", "root");
                char k = root == null ? 'u' : kind(root);
                return k == 0 || k == 'a' ? k : 'u';
            }
            default:
                return 0;
        }
    }

    /** The judge's value for a collection of kind `k` (see `kind`), from its decoded content. */
    @SuppressWarnings("unchecked")
    static Object rebuild(char k, Object v) throws Malformed {
        if (v instanceof List) {
            List<Object> l = (List<Object>) v;
            switch (k) {
                case 'o':
                    if (l.contains(null)) throw new Malformed("a null in a List.of");
                    return List.copyOf(l);
                case 'n':
                    return l.stream().toList();
                case 'u':
                    return Collections.unmodifiableList(l);
                case 'a':
                    return Arrays.asList(l.toArray());
                case 'e':
                    if (!l.isEmpty()) throw new Malformed("a non-empty emptyList");
                    return Collections.emptyList();
                case 's':
                    if (l.size() != 1) throw new Malformed("a singletonList of " + l.size());
                    return Collections.singletonList(l.get(0));
                case 'c':
                    for (Object x : l) {
                        if (!Objects.equals(x, l.get(0))) throw new Malformed("an nCopies of unequal elements");
                    }
                    return Collections.nCopies(l.size(), l.isEmpty() ? null : l.get(0));
                default:
                    break;
            }
        } else if (v instanceof Set) {
            Set<Object> s = (Set<Object>) v;
            switch (k) {
                case 'o':
                    if (s.contains(null)) throw new Malformed("a null in a Set.of");
                    return Set.copyOf(s);
                case 'u':
                    return Collections.unmodifiableSet(s);
                case 'e':
                    if (!s.isEmpty()) throw new Malformed("a non-empty emptySet");
                    return Collections.emptySet();
                case 's':
                    if (s.size() != 1) throw new Malformed("a singleton of " + s.size());
                    return Collections.singleton(s.iterator().next());
                case 'k': {
                    LinkedHashMap<Object, Object> m = new LinkedHashMap<>();
                    for (Object x : s) m.put(x, Boolean.TRUE);
                    return m.keySet();
                }
                default:
                    break;
            }
        } else if (v instanceof Map) {
            Map<Object, Object> m = (Map<Object, Object>) v;
            switch (k) {
                case 'o':
                    if (m.containsKey(null) || m.containsValue(null)) throw new Malformed("a null in a Map.of");
                    return Map.copyOf(m);
                case 'u':
                    return Collections.unmodifiableMap(m);
                case 'e':
                    if (!m.isEmpty()) throw new Malformed("a non-empty emptyMap");
                    return Collections.emptyMap();
                case 's': {
                    if (m.size() != 1) throw new Malformed("a singletonMap of " + m.size());
                    Map.Entry<Object, Object> e = m.entrySet().iterator().next();
                    return Collections.singletonMap(e.getKey(), e.getValue());
                }
                default:
                    break;
            }
        }
        throw new Malformed("bad kind '" + k + "'");
    }

    static void enc(ByteArrayOutputStream o, Object v, int depth) {
        enc(o, v, depth, true);
    }

    /** `strict`: a collection must be the JDK's own (the candidate's answers); the judge sends
     * the test's arguments as they are (its own values: a double-brace `new ArrayList<>() {{
     * add(1); }}` is a subclass). */
    static void enc(ByteArrayOutputStream o, Object v, int depth, boolean strict) {
        if (depth > 500) throw new IllegalArgumentException("a value nested too deeply (or cyclic)");
        if (v instanceof List || v instanceof Set || v instanceof Map) {
            String why = strict ? foreign(v, new IdentityHashMap<>()) : null;
            if (why != null) throw new IllegalArgumentException("not a plain value: " + why);
            char k = kind(v);
            if (k != 0) {
                o.write('K');
                o.write(k);
            }
        }
        if (v == null) {
            o.write('N');
        } else if (v instanceof Boolean) {
            o.write(((Boolean) v) ? 'T' : 'F');
        } else if (v instanceof Integer) {
            ascii(o, "i" + v + ";");
        } else if (v instanceof Long) {
            ascii(o, "l" + v + ";");
        } else if (v instanceof Short) {
            ascii(o, "h" + v + ";");
        } else if (v instanceof Byte) {
            ascii(o, "y" + v + ";");
        } else if (v instanceof Character) {
            ascii(o, "c" + (int) (Character) v + ";");
        } else if (v instanceof Double) {
            ascii(o, "d" + hex((Double) v));
        } else if (v instanceof Float) {
            ascii(o, "f" + hex((double) (Float) v));
        } else if (v instanceof String) {
            byte[] b = ((String) v).getBytes(StandardCharsets.UTF_16LE);
            count(o, 'w', b.length);
            o.write(b, 0, b.length);
        } else if (v instanceof List) {
            List<?> l = (List<?>) v;
            Object[] xs = l.toArray();
            count(o, 'L', xs.length);
            for (Object x : xs) enc(o, x, depth + 1, strict);
        } else if (v instanceof Set) {
            Object[] xs = ((Set<?>) v).toArray();
            count(o, 'E', xs.length);
            for (Object x : xs) enc(o, x, depth + 1, strict);
        } else if (v instanceof Map) {
            Object[] es = ((Map<?, ?>) v).entrySet().toArray();
            count(o, 'M', es.length);
            for (Object e : es) {
                Map.Entry<?, ?> kv = (Map.Entry<?, ?>) e;
                enc(o, kv.getKey(), depth + 1, strict);
                enc(o, kv.getValue(), depth + 1, strict);
            }
        } else if (v instanceof Optional) {
            Optional<?> opt = (Optional<?>) v;
            o.write('O');
            if (opt.isPresent()) {
                o.write('1');
                enc(o, opt.get(), depth + 1, strict);
            } else {
                o.write('0');
            }
        } else {
            throw new IllegalArgumentException("not a plain value: a " + v.getClass().getName());
        }
    }

    static final class In {
        final byte[] b;
        int p;

        In(byte[] b) {
            this.b = b;
        }

        char get() throws Malformed {
            if (p >= b.length) throw new Malformed("truncated");
            return (char) (b[p++] & 0xff);
        }

        long count(char end) throws Malformed {
            long n = 0;
            int digits = 0;
            for (;;) {
                char c = get();
                if (c == end && digits > 0) return n;
                if (c < '0' || c > '9' || ++digits > 18) throw new Malformed("bad count");
                n = n * 10 + (c - '0');
            }
        }

        long integer() throws Malformed {
            StringBuilder s = new StringBuilder();
            for (char c = get(); c != ';'; c = get()) {
                s.append(c);
                if (s.length() > 21) throw new Malformed("bad integer");
            }
            try {
                return Long.parseLong(s.toString());
            } catch (NumberFormatException e) {
                throw new Malformed("bad integer");
            }
        }

        double bits() throws Malformed {
            StringBuilder s = new StringBuilder();
            for (int k = 0; k < 16; k++) {
                char c = get();
                if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) throw new Malformed("bad float");
                s.append(c);
            }
            return Double.longBitsToDouble(Long.parseUnsignedLong(s.toString(), 16));
        }

        void end() throws Malformed {
            if (p != b.length) throw new Malformed("trailing bytes");
        }

        boolean atEnd() {
            return p == b.length;
        }
    }

    private static long ranged(long v, long lo, long hi) throws Malformed {
        if (v < lo || v > hi) throw new Malformed("integer out of range");
        return v;
    }

    static Object dec(In in, int depth) throws Malformed {
        if (depth > 500) throw new Malformed("nested too deeply");
        char t = in.get();
        switch (t) {
            case 'N':
                return null;
            case 'T':
                return Boolean.TRUE;
            case 'F':
                return Boolean.FALSE;
            case 'i':
                return Integer.valueOf((int) ranged(in.integer(), Integer.MIN_VALUE, Integer.MAX_VALUE));
            case 'l':
                return Long.valueOf(in.integer());
            case 'h':
                return Short.valueOf((short) ranged(in.integer(), Short.MIN_VALUE, Short.MAX_VALUE));
            case 'y':
                return Byte.valueOf((byte) ranged(in.integer(), Byte.MIN_VALUE, Byte.MAX_VALUE));
            case 'c':
                return Character.valueOf((char) ranged(in.integer(), 0, 0xffff));
            case 'd':
                return Double.valueOf(in.bits());
            case 'f':
                return Float.valueOf((float) in.bits());
            case 'w': {
                long n = in.count(':');
                if (n % 2 != 0 || n > in.b.length - in.p) throw new Malformed("bad string");
                String s = new String(in.b, in.p, (int) n, StandardCharsets.UTF_16LE);
                in.p += (int) n;
                return s.intern();
            }
            case 'L': {
                long n = in.count(':');
                ArrayList<Object> l = new ArrayList<>();
                for (long k = 0; k < n; k++) l.add(dec(in, depth + 1));
                return l;
            }
            case 'E': {
                long n = in.count(':');
                LinkedHashSet<Object> s = new LinkedHashSet<>();
                for (long k = 0; k < n; k++) {
                    if (!s.add(dec(in, depth + 1))) throw new Malformed("duplicate element");
                }
                return s;
            }
            case 'M': {
                long n = in.count(':');
                LinkedHashMap<Object, Object> m = new LinkedHashMap<>();
                for (long k = 0; k < n; k++) {
                    Object key = dec(in, depth + 1);
                    if (m.containsKey(key)) throw new Malformed("duplicate key");
                    m.put(key, dec(in, depth + 1));
                }
                return m;
            }
            case 'K': {
                char k = in.get();
                char next = in.get();
                in.p--;
                if (next != 'L' && next != 'E' && next != 'M') throw new Malformed("a kind of no collection");
                return rebuild(k, dec(in, depth + 1));
            }
            case 'O': {
                char c = in.get();
                if (c == '0') return Optional.empty();
                if (c != '1') throw new Malformed("bad optional");
                Object v = dec(in, depth + 1);
                if (v == null) throw new Malformed("an optional holding null");
                return Optional.of(v);
            }
            default:
                throw new Malformed("unknown tag '" + t + "'");
        }
    }

    /** `v` as a value of the declared class `want` (a collection copied into the declared
     * implementation when it names one); `primitive`: null is not allowed. */
    static Object as(Class<?> want, Object v, boolean primitive) throws Malformed {
        if (v == null) {
            if (primitive) throw new Malformed("null where a primitive is declared");
            return null;
        }
        if (want.isInstance(v)) return v;
        try {
            Object copy = null;
            if ((Collection.class.isAssignableFrom(want) && v instanceof Collection)) {
                copy = want.getConstructor(Collection.class).newInstance(v);
            } else if (Map.class.isAssignableFrom(want) && v instanceof Map) {
                copy = want.getConstructor(Map.class).newInstance(v);
            }
            if (copy != null) {
                // A sorted collection sorts its copy naturally: one the sample built with a
                // comparator of its own (`TreeSet` in reverse) arrived in another order, and
                // the copy would not be what it returned.
                boolean sorted = copy instanceof SortedSet || copy instanceof SortedMap;
                Object a = v instanceof Map ? new ArrayList<Object>(((Map<?, ?>) v).keySet()) : new ArrayList<Object>((Collection<?>) v);
                Object b = copy instanceof Map ? new ArrayList<Object>(((Map<?, ?>) copy).keySet()) : new ArrayList<Object>((Collection<?>) copy);
                if (sorted && !a.equals(b)) {
                    throw new Malformed("a " + want.getSimpleName() + " not in its elements' natural order (a comparator of the sample's): not a plain value");
                }
                return copy;
            }
        } catch (ReflectiveOperationException e) {
            // fall through
        }
        throw new Malformed("a " + v.getClass().getSimpleName() + " where " + want.getSimpleName() + " is declared");
    }

    // ---- framing ----

    static byte[] readMsg(InputStream in) throws IOException {
        long n = 0;
        int digits = 0;
        for (;;) {
            int c = in.read();
            if (c < 0) return null;
            if (c == '\n' && digits > 0) break;
            if (c < '0' || c > '9' || ++digits > 10) return null;
            n = n * 10 + (c - '0');
        }
        if (n > (64L << 20)) return null;
        byte[] b = new byte[(int) n];
        int off = 0;
        while (off < n) {
            int k = in.read(b, off, (int) n - off);
            if (k < 0) return null;
            off += k;
        }
        return b;
    }

    static void writeMsg(OutputStream out, byte[] m) throws IOException {
        out.write((m.length + "\n").getBytes(StandardCharsets.ISO_8859_1));
        out.write(m);
        out.flush();
    }

    /** A stream on an inherited descriptor (no path to reopen: the JVM is started with
     * `--add-opens java.base/java.io=ALL-UNNAMED` for this). */
    private static java.io.FileDescriptor descriptor(int fd) throws IOException {
        try {
            java.io.FileDescriptor d = new java.io.FileDescriptor();
            java.lang.reflect.Field f = java.io.FileDescriptor.class.getDeclaredField("fd");
            f.setAccessible(true);
            f.setInt(d, fd);
            return d;
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IOException("descriptor " + fd + ": " + e);
        }
    }

    static InputStream inFd(int fd) throws IOException {
        return new java.io.BufferedInputStream(new FileInputStream(descriptor(fd)));
    }

    static OutputStream outFd(int fd) throws IOException {
        return new FileOutputStream(descriptor(fd));
    }

    // ---- the candidate's side ----

    interface Dispatch {
        Object call(int id, Object[] args) throws Throwable;
    }

    /** Whether the sample could change `v` in place: a collection, or an `Optional` of one. */
    static boolean watchable(Object v) {
        return v instanceof Collection || v instanceof Map
                || v instanceof Optional && ((Optional<?>) v).isPresent() && watchable(((Optional<?>) v).get());
    }

    /** A watchable value's encoding (`null` for anything else, which the sample cannot change
     * in place; `!` for one the wire cannot carry). */
    static byte[] snapshot(Object v) {
        if (!watchable(v)) return null;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        try {
            enc(o, v, 0, false);
        } catch (RuntimeException e) {
            return new byte[] {'!'};
        }
        return o.toByteArray();
    }

    /** Writes `now` into the test's argument `held` in place, changing only what differs (a
     * list element by element, recursing into the collections it holds, when the size is the
     * same; a set's or map's missing entries removed and new ones added), so that what the
     * test holds inside it stays shared and an unmodifiable outer value or a view (a key set)
     * is touched only where the sample changed it. */
    @SuppressWarnings("unchecked")
    static void writeBack(Object held, Object now) throws Malformed {
        if (held instanceof Optional && now instanceof Optional) {
            Optional<?> h = (Optional<?>) held;
            Optional<?> n = (Optional<?>) now;
            if (h.isPresent() != n.isPresent()) throw new Malformed("an Optional that changed");
            if (h.isPresent()) writeBack(h.get(), n.get());
        } else if (held instanceof List && now instanceof List) {
            List<Object> h = (List<Object>) held;
            List<?> n = (List<?>) now;
            // The common prefix element by element (what the test holds inside it stays
            // shared when the sample adds or removes at the end), then the tail.
            int common = Math.min(h.size(), n.size());
            for (int i = 0; i < common; i++) {
                Object x = h.get(i);
                Object y = n.get(i);
                if (sameKind(x, y)) {
                    writeBack(x, y);
                } else if (!Objects.equals(x, y)) {
                    h.set(i, y);
                }
            }
            if (h.size() > common) h.subList(common, h.size()).clear();
            if (n.size() > common) h.addAll(n.subList(common, n.size()));
        } else if (held instanceof Collection && now instanceof Collection) {
            Collection<Object> h = (Collection<Object>) held;
            Collection<?> n = (Collection<?>) now;
            h.retainAll(new ArrayList<Object>(n));
            for (Object y : n) {
                if (!h.contains(y)) h.add(y);
            }
        } else if (held instanceof Map && now instanceof Map) {
            Map<Object, Object> h = (Map<Object, Object>) held;
            Map<?, ?> n = (Map<?, ?>) now;
            h.keySet().retainAll(new ArrayList<Object>(n.keySet()));
            for (Map.Entry<?, ?> e : n.entrySet()) {
                Object x = h.get(e.getKey());
                if (sameKind(x, e.getValue())) {
                    writeBack(x, e.getValue());
                } else if (!h.containsKey(e.getKey()) || !Objects.equals(x, e.getValue())) {
                    h.put(e.getKey(), e.getValue());
                }
            }
        } else {
            throw new Malformed("a change of an argument that is no collection");
        }
    }

    private static boolean sameKind(Object x, Object y) {
        return x instanceof List && y instanceof List
                || x instanceof Set && y instanceof Set
                || x instanceof Map && y instanceof Map;
    }

    /** Why the judge cannot stand for the sample's methods (`expect`), or null. */
    private static String unjudgeable;
    /** Why the code and the test would not compile as one program (`constructed`,
     * `unchecked`), or null. */
    private static String uncompilable;

    /** The exception types the test catches or declares (`catch (A | B e)`, `throws A, B` in
     * its text, `handled_types`): a checked exception the sample's method or constructor
     * declares that none of them covers does not compile in one program (HumanEval-X's `main`
     * declares none). Set by the candidate's `main`. */
    static String[] testHandles = new String[0];

    /** Whether the test catches or declares a type `t` is one of (a name the test writes,
     * resolved as javac would in its imports: the default package, java.lang, and the packages
     * tests import on demand). Where in the test it does is not read: an unrelated `catch
     * (NumberFormatException e)` no longer covers an `IOException` (an attacker's review,
     * round 18), but a `catch (IOException e)` around another statement still does. */
    private static boolean handled(Class<?> t) {
        for (String n : testHandles) {
            for (String p : new String[] {"", "java.lang.", "java.io.", "java.util.", "java.util.concurrent.", "java.net.", "java.nio.file."}) {
                try {
                    if (Class.forName(p + n, false, RrtfRt.class.getClassLoader()).isAssignableFrom(t)) return true;
                } catch (Throwable e) {
                    // not this package
                }
            }
        }
        return false;
    }

    /** The checked exceptions `thrown` names that the test does not handle, or null if none. */
    private static String checked(Class<?>[] thrown) {
        List<String> names = new ArrayList<>();
        for (Class<?> t : thrown) {
            if (!RuntimeException.class.isAssignableFrom(t) && !Error.class.isAssignableFrom(t) && !handled(t)) names.add(t.getName());
        }
        return names.isEmpty() ? null : String.join(", ", names);
    }

    /** The test constructs `c` with `new c()`: whether the candidate's `main` constructs it
     * too, before any call, so that its constructor runs as in one program (javac decides what
     * the test's `new` would: a private constructor or an abstract class does not compile);
     * not when the one program would not compile (a checked exception: `uncompilable`, which
     * the candidate then answers every call with, before a throwing constructor could end it). */
    static boolean constructed(Class<?> c) {
        if (uncompilable != null) return false;
        for (java.lang.reflect.Constructor<?> k : c.getDeclaredConstructors()) {
            int n = k.getParameterCount();
            if (n == 0 || n == 1 && k.isVarArgs()) {
                String t = checked(k.getExceptionTypes());
                if (t != null) {
                    uncompilable = "the test constructs " + c.getName() + " (`new " + c.getSimpleName()
                            + "()`), whose constructor declares " + t + ", which the test neither catches nor declares";
                    return false;
                }
                return true;
            }
        }
        return true;
    }

    /** Before the candidate calls the method `name(params)` of `c` for the test: one that
     * declares a checked exception does not compile in a test that neither catches nor declares
     * it (the judge's stub declares none). */
    static void unchecked(Class<?> c, String name, Class<?>[] params) {
        // Once per method: a method that passed stays passed (reflection is not per call).
        if (!uncheckedSeen.add(Arrays.asList(c, name, Arrays.asList(params)))) return;
        for (Class<?> k = c; k != null; k = k.getSuperclass()) {
            try {
                String t = checked(k.getDeclaredMethod(name, params).getExceptionTypes());
                if (t != null) {
                    throw new Uncompilable("the test calls " + c.getName() + "." + name + ", which declares " + t
                            + ", and the test neither catches nor declares it");
                }
                return;
            } catch (NoSuchMethodException e) {
                // inherited: look further up
            }
        }
    }

    private static final Set<List<Object>> uncheckedSeen = new java.util.HashSet<>();

    static final class Uncompilable extends RuntimeException {
        Uncompilable(String why) {
            super(why);
        }
    }

    /** The methods named `name` a call on `c` may reach (its own and its superclasses', not
     * private; its interfaces' not static, not private), by their parameter types, must be
     * `want`, the executor's reading of the code's text, for which the judge has stubs:
     * otherwise javac may resolve the test's call to a method the judge never saw (an
     * overload the text hid). Checked on the compiled class, by reflection, before any call.
     * Each row of `want` ends with the return type: a class with a type parameter named like a
     * JDK class (`class Solution<Integer>`) returns its erasure, which the test's comparison
     * does not compile with in one program. The most derived declaration of a parameter list
     * gives its return type (a covariant override). */
    static void expect(Class<?> c, String name, Class<?>[][] want) {
        if (unjudgeable != null) return;
        try {
            Map<List<Class<?>>, Class<?>> got = new java.util.LinkedHashMap<>();
            java.util.ArrayDeque<Class<?>> ifaces = new java.util.ArrayDeque<>();
            for (Class<?> k = c; k != null; k = k.getSuperclass()) {
                for (Method m : k.getDeclaredMethods()) {
                    if (m.getName().equals(name) && !m.isSynthetic() && !m.isBridge()
                            && !Modifier.isPrivate(m.getModifiers())) {
                        got.putIfAbsent(Arrays.asList(m.getParameterTypes()), m.getReturnType());
                    }
                }
                ifaces.addAll(Arrays.asList(k.getInterfaces()));
            }
            java.util.Set<Class<?>> seen = new java.util.HashSet<>();
            while (!ifaces.isEmpty()) {
                Class<?> i = ifaces.poll();
                if (!seen.add(i)) continue;
                for (Method m : i.getDeclaredMethods()) {
                    int mod = m.getModifiers();
                    if (m.getName().equals(name) && !m.isSynthetic() && !m.isBridge()
                            && !Modifier.isPrivate(mod) && !Modifier.isStatic(mod)) {
                        got.putIfAbsent(Arrays.asList(m.getParameterTypes()), m.getReturnType());
                    }
                }
                ifaces.addAll(Arrays.asList(i.getInterfaces()));
            }
            Map<List<Class<?>>, Class<?>> read = new java.util.LinkedHashMap<>();
            for (Class<?>[] w : want) read.put(Arrays.asList(w).subList(0, w.length - 1), w[w.length - 1]);
            if (!got.equals(read)) {
                unjudgeable = "the compiled " + c.getName() + " has methods named `" + name
                        + "` (parameters=return) " + got + ", the executor read " + read
                        + " from the code's text: the test's call may reach one the judge never saw";
            }
        } catch (Throwable e) {
            unjudgeable = "the methods of " + c.getName() + " cannot be read: " + e;
        }
    }

    /** The collections the test may still hold that the sample could change later (its
     * arguments, the results it got), with their snapshots when last sent: a sample that keeps
     * an argument and clears it at the next call, or returns its own list and refills it, is
     * seen as in one program. Bounded as Go's (`rrtfKeepMax`): the candidate says how many it
     * dropped (`E<n>:` ending its answer) and the judge then cannot stand for the test (`U`). */
    private static ArrayList<Object[]> keep = new ArrayList<>();
    static final int KEEP_MAX = 1024;
    static final long KEEP_BYTES = 4L << 20;

    static void serve(Dispatch d) throws IOException {
        InputStream in = inFd(3);
        OutputStream out = outFd(4);
        for (;;) {
            byte[] m = readMsg(in);
            if (m == null) return;
            ByteArrayOutputStream o = new ByteArrayOutputStream();
            if (uncompilable != null || unjudgeable != null) {
                o.write('X');
                enc(o, uncompilable != null ? "compile" : "unsupported", 0);
                enc(o, uncompilable != null ? uncompilable : unjudgeable, 0);
                writeMsg(out, o.toByteArray());
                continue;
            }
            try {
                In i = new In(m);
                long id = i.count(';');
                Object args = dec(i, 0);
                // The test's own changes, since the last call, to collections the candidate
                // keeps (`U<k>:` after the arguments): written into the sample's, as in one
                // program the sample holding them would see them.
                while (!i.atEnd()) {
                    if (i.get() != 'U') throw new Malformed("trailing bytes");
                    long k = i.count(':');
                    if (k < 0 || k >= keep.size()) throw new Malformed("a change of no kept value");
                    Object[] e = keep.get((int) k);
                    try {
                        writeBack(e[0], dec(i, 0));
                    } catch (UnsupportedOperationException x) {
                        throw new Malformed("a change of a value the sample cannot change");
                    }
                    e[1] = snapshot(e[0]);
                }
                if (!(args instanceof List)) throw new Malformed("not a call");
                Object[] a = ((List<?>) args).toArray();
                byte[][] before = new byte[a.length][];
                for (int k = 0; k < a.length; k++) before[k] = snapshot(a[k]);
                // The dispatch puts in `a` the object each parameter gets.
                Object r = d.call((int) id, a);
                o.write('R');
                if (r == VOID) {
                    o.write('V');
                } else {
                    enc(o, r, 0);
                }
                // A collection the test holds that the sample changed (an argument of this
                // call or an earlier one, a result it returned before): in one program the test
                // sees the change, so its value after the call comes back (`U<k>:`, k counting
                // the kept values, then this call's arguments) and the judge writes it into the
                // test's own.
                ArrayList<Object[]> now = new ArrayList<>();
                for (Object[] e : keep) now.add(e.clone());
                for (int k = 0; k < a.length; k++) now.add(new Object[] {a[k], before[k]});
                for (int k = 0; k < now.size(); k++) {
                    Object[] e = now.get(k);
                    if (e[1] == null) continue;
                    byte[] s = snapshot(e[0]);
                    if (!Arrays.equals((byte[]) e[1], s)) {
                        ascii(o, "U" + k + ":");
                        enc(o, e[0], 0);
                        e[1] = s;
                    }
                }
                ArrayList<Object[]> kept = new ArrayList<>();
                for (Object[] e : now) {
                    if (e[1] != null) kept.add(e);
                }
                if (watchable(r)) kept.add(new Object[] {r, snapshot(r)});
                long total = 0;
                for (Object[] e : kept) total += ((byte[]) e[1]).length;
                int drop = 0;
                while (drop < kept.size() && (kept.size() - drop > KEEP_MAX || total > KEEP_BYTES)) {
                    total -= ((byte[]) kept.get(drop)[1]).length;
                    drop++;
                }
                if (drop > 0) ascii(o, "E" + drop + ":");
                keep = new ArrayList<>(kept.subList(drop, kept.size()));
            } catch (Uncompilable e) {
                uncompilable = e.getMessage();
                o.reset();
                o.write('X');
                enc(o, "compile", 0);
                enc(o, uncompilable, 0);
            } catch (OutOfMemoryError e) {
                o.reset();
                o.write('X');
                enc(o, "memory", 0);
                enc(o, e.toString(), 0);
            } catch (Throwable e) {
                o.reset();
                o.write('X');
                enc(o, "error", 0);
                String text;
                try {
                    text = e.toString();
                } catch (Throwable x) {
                    text = e.getClass().getName();
                }
                enc(o, text, 0);
            }
            writeMsg(out, o.toByteArray());
        }
    }

    // ---- the judge's side ----

    private static InputStream rep;
    private static OutputStream req;
    private static OutputStream report;
    private static String nonce = "";
    private static boolean[][] sites = new boolean[0][];
    private static long calls, errors, markCalls, markErrors;
    private static boolean dead, told, dropped;
    /** The collections the test holds that the candidate keeps watching (see `keep`). */
    private static ArrayList<Object> held = new ArrayList<>();
    /** Each held collection's snapshot when it last crossed (either way). */
    private static ArrayList<byte[]> heldSnap = new ArrayList<>();

    private static String oneline(String s) {
        String o = s == null ? "" : s.replace('\n', ' ').replace('\r', ' ').replace('\t', ' ');
        return o.length() > 300 ? o.substring(0, 300) : o;
    }

    private static final java.util.Set<String> made = new java.util.HashSet<>();

    /** A stub of the sample's class `c` was constructed: the candidate holds one instance of
     * it, so a second is a test the executor cannot judge faithfully (`U`: crashed). */
    static void instance(String c) {
        if (!made.add(c)) {
            report("U the test creates more than one " + c + ", and the candidate holds one instance of the sample's class");
        }
    }

    private static void report(String line) {
        try {
            report.write((nonce + " " + line + "\n").getBytes(StandardCharsets.UTF_8));
            report.flush();
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    private static CandidateError candError(String kind, String msg) {
        errors++;
        if (!told) {
            told = true;
            report("E " + kind + " " + oneline(msg));
        }
        return new CandidateError(msg);
    }

    /** The fields through which a JDK view reads the collection it shows: a sub-list's
     * `root`, a wrapper's `c` or `m`, a tree set's map `m` (a head/tail/sub/descending set's
     * sub-map, whose `m` is the tree map), a hash set's `map`, an inner class's (a key set's,
     * a values or entry view's) outer `this$0`. */
    private static final Set<String> BACKING = new java.util.HashSet<>(Arrays.asList("root", "c", "m", "map", "this$0"));
    private static final Map<Class<?>, long[]> backingOffsets = new HashMap<>();

    private static synchronized long[] backingFields(Class<?> c) {
        if (backingOffsets.containsKey(c)) return backingOffsets.get(c);
        long[] out = new long[0];
        if (unsafe()) {
            try {
                ArrayList<Long> l = new ArrayList<>();
                for (Class<?> k = c; k != null; k = k.getSuperclass()) {
                    for (Field f : k.getDeclaredFields()) {
                        if (!Modifier.isStatic(f.getModifiers()) && BACKING.contains(f.getName())) {
                            l.add((Long) unsafeOffset.invoke(unsafe, f));
                        }
                    }
                }
                out = new long[l.size()];
                for (int i = 0; i < out.length; i++) out[i] = l.get(i);
            } catch (Throwable e) {
                out = new long[0];
            }
        }
        backingOffsets.put(c, out);
        return out;
    }

    /** The collection whose content `v` shows: what a JDK view (unmodifiable, synchronized,
     * checked, a sub-list, a key set, a sub-set or sub-map, a descending one) reads through,
     * followed to the end, else `v`. */
    private static Object origin(Object v) {
        for (int i = 0; i < 16 && v.getClass().getClassLoader() == null; i++) {
            Object w = null;
            for (long off : backingFields(v.getClass())) {
                Object x = read(v, off);
                if (x != v && (x instanceof Collection || x instanceof Map)) {
                    w = x;
                    break;
                }
            }
            if (w == null) return v;
            v = w;
        }
        return v;
    }

    /** A modifiable collection the test passes twice (as two arguments, or twice inside them),
     * or null: the sample would see its change of the one in the other (a swap of a row with
     * itself, a sum that clears its second argument), while each crosses to the candidate as a
     * copy of its own. An immutable one may repeat (`List.of()` is one object). */
    private static Object twice(Object v, IdentityHashMap<Object, Boolean> seen, int depth) {
        if (depth > 500 || !(v instanceof Collection || v instanceof Map)) return null;
        Object o = origin(v);
        char k = kind(o);
        // Two `Arrays.asList` of one array are one storage: keyed by the array.
        Object key = k == 'a' ? field(o, "java.util.Arrays$ArrayList", "a") : o;
        if (key == null) key = o;
        if (k != 'o' && k != 'n' && k != 'e' && k != 's' && k != 'c' && seen.put(key, Boolean.TRUE) != null) {
            return o;
        }
        Object[] xs;
        if (v instanceof Map) {
            ArrayList<Object> kv = new ArrayList<>();
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                kv.add(e.getKey());
                kv.add(e.getValue());
            }
            xs = kv.toArray();
        } else {
            xs = ((Collection<?>) v).toArray();
        }
        for (Object x : xs) {
            Object r = twice(x, seen, depth + 1);
            if (r != null) return r;
        }
        return null;
    }

    static Object call(int id, Class<?> want, boolean primitive, Object... args) {
        calls++;
        if (dead) throw candError("died", "the candidate process is gone");
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ascii(o, id + ";");
        ArrayList<Object> list = new ArrayList<>();
        for (Object a : args) list.add(a);
        IdentityHashMap<Object, Boolean> seen = new IdentityHashMap<>();
        for (Object a : args) {
            Object t = twice(a, seen, 0);
            if (t != null) {
                String why = "the test passes one " + t.getClass().getName() + " twice (as two arguments, or twice inside them): the sample would see its change of the one in the other, the judge's copies cannot";
                report("U " + why);
                throw candError("error", why);
            }
        }
        try {
            enc(o, list, 0, false);
            // What the test changed since the last call of the collections both sides keep
            // (see `keep`): sent after the arguments, written into the sample's copies.
            for (int k = 0; k < held.size(); k++) {
                byte[] s = snapshot(held.get(k));
                if (!Arrays.equals(s, heldSnap.get(k))) {
                    ascii(o, "U" + k + ":");
                    enc(o, held.get(k), 0, false);
                    heldSnap.set(k, s);
                }
            }
        } catch (IllegalArgumentException e) {
            report("U the test passes " + oneline(e.getMessage()));
            throw e;
        }
        byte[] answer;
        try {
            writeMsg(req, o.toByteArray());
            answer = readMsg(rep);
        } catch (IOException e) {
            answer = null;
        }
        if (answer == null) {
            dead = true;
            throw candError("died", "the candidate process ended during a call");
        }
        String kind;
        String msg;
        try {
            In in = new In(answer);
            char tag = in.get();
            if (tag == 'R') {
                Object v = null;
                if (want == Void.class) {
                    if (in.get() != 'V') throw new Malformed("a value where void is declared");
                } else {
                    v = dec(in, 0);
                }
                // The collections the test holds that the sample changed (see `serve`): the
                // kept ones, then this call's arguments.
                ArrayList<Object> targets = new ArrayList<>(held);
                targets.addAll(Arrays.asList(args));
                List<Object[]> changes = new ArrayList<>();
                long drop = 0;
                while (!in.atEnd()) {
                    char t = in.get();
                    if (t == 'E') {
                        drop = in.count(':');
                        if (drop < 1 || !in.atEnd()) throw new Malformed("a malformed drop");
                        break;
                    }
                    if (t != 'U') throw new Malformed("trailing bytes");
                    long k = in.count(':');
                    if (k < 0 || k >= targets.size()) throw new Malformed("a change of no value the test holds");
                    changes.add(new Object[] {targets.get((int) k), dec(in, 0), (int) k});
                }
                Object r = want == Void.class ? null : as(want, v, primitive);
                for (Object[] c : changes) {
                    try {
                        // A result the judge rebuilt as an unmodifiable view: its list is the
                        // judge's own, changed as the sample's view behind it changed.
                        Object target = c[0];
                        if (isA(target, UNMODIFIABLE) || isA(target, UNMODIFIABLE_MAP)) target = origin(target);
                        writeBack(target, c[1]);
                    } catch (UnsupportedOperationException e) {
                        throw new Malformed("a change of a value the test cannot change");
                    }
                }
                // Each kept value's snapshot as it is now: an earlier one's carried over unless
                // the sample changed it, this call's arguments and result taken.
                java.util.Set<Integer> written = new java.util.HashSet<>();
                for (Object[] c : changes) written.add((Integer) c[2]);
                ArrayList<Object> kept = new ArrayList<>();
                ArrayList<byte[]> snaps = new ArrayList<>();
                for (int k = 0; k < targets.size(); k++) {
                    Object x = targets.get(k);
                    if (!watchable(x)) continue;
                    kept.add(x);
                    snaps.add(k < held.size() && !written.contains(k) ? heldSnap.get(k) : snapshot(x));
                }
                if (watchable(r)) {
                    kept.add(r);
                    snaps.add(snapshot(r));
                }
                if (drop > kept.size()) throw new Malformed("a drop of more values than held");
                if (drop > 0 && !dropped) {
                    dropped = true;
                    report("U the test holds more of the sample's collections than the judge watches for the sample's later changes ("
                            + KEEP_MAX + " values, " + (KEEP_BYTES >> 20) + " MiB of them): a change to one no longer watched would go unseen");
                }
                held = new ArrayList<>(kept.subList((int) drop, kept.size()));
                heldSnap = new ArrayList<>(snaps.subList((int) drop, snaps.size()));
                return r;
            }
            if (tag != 'X') throw new Malformed("not an answer");
            Object k = dec(in, 0);
            Object m = dec(in, 0);
            in.end();
            if (!(k instanceof String) || !(m instanceof String)) throw new Malformed("bad failure");
            kind = (String) k;
            msg = (String) m;
            if ("unsupported".equals(kind)) {
                report("U " + oneline(msg));
            } else if ("compile".equals(kind)) {
                report("C " + oneline(msg));
            }
        } catch (Malformed e) {
            throw candError("error", "the answer is not a plain value of the declared type: " + e.getMessage());
        }
        throw candError("memory".equals(kind) ? "memory" : "error", msg);
    }

    private static void siteEvent(int site, boolean ok, boolean called, boolean err, String why) {
        if (site < 0 || site >= sites.length) return;
        boolean[] s = sites[site];
        boolean[] b = s.clone();
        s[0] = true;
        s[1] |= !ok;
        s[2] |= called;
        s[3] |= err;
        if (!b[0] || s[1] != b[1] || s[2] != b[2] || s[3] != b[3]) {
            report("S " + site + " " + (s[1] ? 1 : 0) + " " + (s[2] ? 1 : 0) + " " + (s[3] ? 1 : 0) + " "
                    + (!ok && !b[1] ? oneline(why) : ""));
        }
    }

    private static void site(int site, boolean ok) {
        boolean called = calls > markCalls;
        boolean errored = errors > markErrors;
        markCalls = calls;
        markErrors = errors;
        siteEvent(site, ok && !errored, called, errored, errored ? "the candidate failed during the check" : "");
    }

    /** `if (RrtfRt.fails(i, COND)) throw ...`: the check is `!COND`; never throws. */
    static boolean fails(int site, boolean failing) {
        site(site, !failing);
        return false;
    }

    /** An element of a `List<Boolean>` of checks: the check, and the element's own value (the
     * list's `contains(false)` is made `quiet`, so a failure is not counted twice; any other use
     * of the list, `stream().filter(b -> b).count()`, sees the real values). */
    static boolean of(int site, boolean ok) {
        site(site, ok);
        return ok;
    }

    static boolean quiet(boolean c) {
        return false;
    }

    interface Test {
        void run() throws Throwable;
    }

    static void judge(int n, Test test) throws IOException {
        StringBuilder s = new StringBuilder();
        for (int c = System.in.read(); c >= 0 && c != '\n'; c = System.in.read()) s.append((char) c);
        nonce = s.toString().trim();
        report = outFd(3);
        req = outFd(4);
        rep = inFd(5);
        sites = new boolean[Math.max(n, 1)][4];
        String failure = "";
        try {
            test.run();
        } catch (CandidateError e) {
            failure = "the candidate failed: " + e.getMessage();
        } catch (Throwable e) {
            failure = "the test raised: " + e;
        }
        if (n == 0) {
            siteEvent(0, failure.isEmpty() && errors == 0, calls > 0, errors > 0 || !failure.isEmpty(),
                    failure.isEmpty() ? "the candidate failed" : failure);
        } else if (!failure.isEmpty()) {
            report("T " + oneline(failure));
        }
        report("D " + n);
        req.close();
        System.exit(0);
    }
}
