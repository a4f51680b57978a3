// rrtf-exec's C++ runtime, compiled into both programs of a judged run:
// - the candidate (the sample's code + `rrtf::serve`): reads calls on fd 3, answers on fd 4;
// - the judge (the test + stubs, never the sample's code): `rrtf::call` sends a call and decodes
//   the answer into a plain value of the declared type; `rrtf::check` counts one check site;
//   the report goes to fd 3, which only the judge holds.
// Wire format (messages are "<decimal length>\n<payload>"): T/F bool, i<decimal>; integer,
// d<16 hex> IEEE double bits, s<n>:<bytes> string, L<n>: list, M<n>: map (key, value pairs),
// P<n>: pair/tuple, N an empty optional, O<value> a full one, V void. A call is "<id>;<args>", an answer "R<value>" or
// "X<kind string><message string>". Anything else is malformed: a failure of the candidate.
#include <cstdio>
#include <cstdint>
#include <string>
#include <utility>
#include <tuple>
#include <type_traits>
#include <exception>
#include <new>
#include <vector>
#include <limits>
#include <optional>

namespace rrtf {

struct Malformed {
    std::string what;
};

struct In {
    const char* p;
    const char* e;
    char get() {
        if (p == e) throw Malformed{"truncated"};
        return *p++;
    }
    void expect(char c) {
        char g = get();
        if (g != c) throw Malformed{std::string("expected '") + c + "', found '" + g + "'"};
    }
    // Decimal digits up to `end`.
    unsigned long long count(char end) {
        unsigned long long n = 0;
        int digits = 0;
        for (;;) {
            char c = get();
            if (c == end && digits > 0) return n;
            if (c < '0' || c > '9' || digits >= 19) throw Malformed{"bad count"};
            n = n * 10 + static_cast<unsigned>(c - '0');
            ++digits;
        }
    }
};

template <class T, class = void> struct is_map : std::false_type {};
template <class T>
struct is_map<T, std::void_t<typename T::key_type, typename T::mapped_type>> : std::true_type {};
template <class T, class = void> struct is_seq : std::false_type {};
template <class T>
struct is_seq<T, std::void_t<typename T::value_type, typename T::iterator,
                             decltype(std::declval<const T&>().size())>> : std::true_type {};
template <class T> struct is_pair : std::false_type {};
template <class A, class B> struct is_pair<std::pair<A, B>> : std::true_type {};
template <class T> struct is_tuple : std::false_type {};
template <class... A> struct is_tuple<std::tuple<A...>> : std::true_type {};
template <class T> struct is_optional : std::false_type {};
template <class A> struct is_optional<std::optional<A>> : std::true_type {};
template <class T> struct always_false : std::false_type {};

inline void put_count(std::string& o, char tag, unsigned long long n) {
    o += tag;
    o += std::to_string(n);
    o += ':';
}

template <class T> void enc(std::string& o, const T& v);

template <class Tup, std::size_t... I>
void enc_tuple(std::string& o, const Tup& t, std::index_sequence<I...>) {
    (enc(o, std::get<I>(t)), ...);
}

template <class T> void enc(std::string& o, const T& v) {
    using U = std::decay_t<T>;
    if constexpr (std::is_same_v<U, bool>) {
        o += v ? 'T' : 'F';
    } else if constexpr (std::is_integral_v<U>) {
        o += 'i';
        if constexpr (std::is_signed_v<U>)
            o += std::to_string(static_cast<long long>(v));
        else
            o += std::to_string(static_cast<unsigned long long>(v));
        o += ';';
    } else if constexpr (std::is_floating_point_v<U>) {
        double d = static_cast<double>(v);
        unsigned long long bits;
        __builtin_memcpy(&bits, &d, sizeof bits);
        char buf[17];
        std::snprintf(buf, sizeof buf, "%016llx", bits);
        o += 'd';
        o.append(buf, 16);
    } else if constexpr (std::is_same_v<U, std::string>) {
        put_count(o, 's', v.size());
        o += v;
    } else if constexpr (is_pair<U>::value) {
        put_count(o, 'P', 2);
        enc(o, v.first);
        enc(o, v.second);
    } else if constexpr (is_tuple<U>::value) {
        put_count(o, 'P', std::tuple_size_v<U>);
        enc_tuple(o, v, std::make_index_sequence<std::tuple_size_v<U>>{});
    } else if constexpr (is_optional<U>::value) {
        if (v) {
            o += 'O';
            enc(o, *v);
        } else {
            o += 'N';
        }
    } else if constexpr (is_map<U>::value) {
        put_count(o, 'M', v.size());
        for (const auto& kv : v) {
            enc(o, kv.first);
            enc(o, kv.second);
        }
    } else if constexpr (is_seq<U>::value) {
        put_count(o, 'L', v.size());
        for (const auto& x : v) enc(o, static_cast<typename U::value_type>(x));
    } else {
        static_assert(always_false<U>::value, "rrtf: not a plain type");
    }
}

template <class T> T dec(In& in);

template <class Tup, std::size_t... I> Tup dec_tuple(In& in, std::index_sequence<I...>) {
    return Tup{dec<std::tuple_element_t<I, Tup>>(in)...};
}

template <class U> U dec_int(In& in) {
    in.expect('i');
    bool neg = false;
    if (in.p != in.e && *in.p == '-') {
        neg = true;
        ++in.p;
    }
    unsigned long long mag = 0;
    int digits = 0;
    for (;;) {
        char c = in.get();
        if (c == ';' && digits > 0) break;
        if (c < '0' || c > '9') throw Malformed{"bad integer"};
        if (__builtin_mul_overflow(mag, 10ull, &mag) ||
            __builtin_add_overflow(mag, static_cast<unsigned long long>(c - '0'), &mag))
            throw Malformed{"integer out of range"};
        ++digits;
    }
    if constexpr (std::is_signed_v<U>) {
        long long v;
        if (neg) {
            if (mag > static_cast<unsigned long long>(INT64_MAX) + 1ull)
                throw Malformed{"integer out of range"};
            v = mag == static_cast<unsigned long long>(INT64_MAX) + 1ull
                    ? INT64_MIN
                    : -static_cast<long long>(mag);
        } else {
            if (mag > static_cast<unsigned long long>(INT64_MAX))
                throw Malformed{"integer out of range"};
            v = static_cast<long long>(mag);
        }
        if (v < static_cast<long long>(std::numeric_limits<U>::min()) ||
            v > static_cast<long long>(std::numeric_limits<U>::max()))
            throw Malformed{"integer out of range of the declared type"};
        return static_cast<U>(v);
    } else {
        if (neg && mag != 0) throw Malformed{"negative value for an unsigned type"};
        if (mag > static_cast<unsigned long long>(std::numeric_limits<U>::max()))
            throw Malformed{"integer out of range of the declared type"};
        return static_cast<U>(mag);
    }
}

template <class T> T dec(In& in) {
    using U = T;
    if constexpr (std::is_same_v<U, bool>) {
        char c = in.get();
        if (c == 'T') return true;
        if (c == 'F') return false;
        throw Malformed{"expected a bool"};
    } else if constexpr (std::is_integral_v<U>) {
        return dec_int<U>(in);
    } else if constexpr (std::is_floating_point_v<U>) {
        in.expect('d');
        unsigned long long bits = 0;
        for (int k = 0; k < 16; ++k) {
            char c = in.get();
            unsigned v;
            if (c >= '0' && c <= '9')
                v = static_cast<unsigned>(c - '0');
            else if (c >= 'a' && c <= 'f')
                v = static_cast<unsigned>(c - 'a' + 10);
            else
                throw Malformed{"bad float"};
            bits = bits << 4 | v;
        }
        double d;
        __builtin_memcpy(&d, &bits, sizeof d);
        return static_cast<U>(d);
    } else if constexpr (std::is_same_v<U, std::string>) {
        in.expect('s');
        unsigned long long n = in.count(':');
        if (n > static_cast<unsigned long long>(in.e - in.p)) throw Malformed{"truncated"};
        std::string s(in.p, static_cast<std::size_t>(n));
        in.p += n;
        return s;
    } else if constexpr (is_pair<U>::value) {
        in.expect('P');
        if (in.count(':') != 2) throw Malformed{"expected a pair"};
        auto a = dec<std::decay_t<typename U::first_type>>(in);
        auto b = dec<std::decay_t<typename U::second_type>>(in);
        return U(std::move(a), std::move(b));
    } else if constexpr (is_tuple<U>::value) {
        in.expect('P');
        if (in.count(':') != std::tuple_size_v<U>) throw Malformed{"wrong tuple size"};
        return dec_tuple<U>(in, std::make_index_sequence<std::tuple_size_v<U>>{});
    } else if constexpr (is_optional<U>::value) {
        char c = in.get();
        if (c == 'N') return U{};
        if (c != 'O') throw Malformed{"expected an optional"};
        return U(dec<std::decay_t<typename U::value_type>>(in));
    } else if constexpr (is_map<U>::value) {
        in.expect('M');
        unsigned long long n = in.count(':');
        U out;
        for (unsigned long long k = 0; k < n; ++k) {
            auto key = dec<std::decay_t<typename U::key_type>>(in);
            auto val = dec<std::decay_t<typename U::mapped_type>>(in);
            auto before = out.size();
            out.emplace(std::move(key), std::move(val));
            if (out.size() != before + 1) throw Malformed{"duplicate key"};
        }
        return out;
    } else if constexpr (is_seq<U>::value) {
        in.expect('L');
        unsigned long long n = in.count(':');
        U out;
        for (unsigned long long k = 0; k < n; ++k) {
            auto before = out.size();
            out.insert(out.end(), dec<std::decay_t<typename U::value_type>>(in));
            if (out.size() != before + 1) throw Malformed{"duplicate element"};
        }
        return out;
    } else {
        static_assert(always_false<U>::value, "rrtf: not a plain type");
    }
}

inline void end(In& in) {
    if (in.p != in.e) throw Malformed{"trailing bytes"};
}

inline bool read_msg(std::FILE* f, std::string& out) {
    unsigned long long n = 0;
    int digits = 0;
    for (;;) {
        int c = std::getc(f);
        if (c == EOF) return false;
        if (c == '\n' && digits > 0) break;
        if (c < '0' || c > '9' || ++digits > 10) return false;
        n = n * 10 + static_cast<unsigned>(c - '0');
    }
    if (n > (64ull << 20)) return false;
    out.assign(static_cast<std::size_t>(n), '\0');
    return n == 0 || std::fread(&out[0], 1, static_cast<std::size_t>(n), f) == n;
}

inline bool write_msg(std::FILE* f, const std::string& m) {
    return std::fprintf(f, "%zu\n", m.size()) > 0 &&
           std::fwrite(m.data(), 1, m.size(), f) == m.size() && std::fflush(f) == 0;
}

// ---- the candidate's side ----

template <class D> int serve(D dispatch) {
    std::FILE* in = fdopen(3, "r");
    std::FILE* out = fdopen(4, "w");
    if (!in || !out) return 5;
    std::string msg;
    while (read_msg(in, msg)) {
        In i{msg.data(), msg.data() + msg.size()};
        std::string o;
        auto fail = [&](const char* kind, const std::string& what) {
            o = "X";
            enc(o, std::string(kind));
            enc(o, what);
        };
        try {
            unsigned long long id = i.count(';');
            o = "R";
            dispatch(id, i, o);
        } catch (std::bad_alloc&) {
            fail("memory", "std::bad_alloc");
        } catch (std::exception& e) {
            fail("error", std::string("exception: ") + e.what());
        } catch (Malformed& m) {
            fail("error", "malformed call: " + m.what);
        } catch (...) {
            fail("error", "an exception that is not a std::exception");
        }
        if (!write_msg(out, o)) return 0;
    }
    return 0;
}

// ---- the judge's side ----

struct CandidateError {
    std::string kind;
    std::string msg;
};

struct SiteState {
    bool ran = false, failed = false, called = false, errored = false;
};

inline std::FILE* g_req = nullptr;
inline std::FILE* g_rep = nullptr;
inline std::FILE* g_report = nullptr;
inline std::string g_nonce;
inline std::vector<SiteState> g_sites;
inline long g_calls = 0, g_errors = 0, g_mark_calls = 0, g_mark_errors = 0;
inline bool g_dead = false, g_told = false;

inline std::string oneline(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (o.size() >= 300) break;
        o += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
    }
    return o;
}

inline void report(const std::string& line) {
    std::string l = g_nonce + " " + line + "\n";
    std::fwrite(l.data(), 1, l.size(), g_report);
    std::fflush(g_report);
}

[[noreturn]] inline void cand_error(const std::string& kind, const std::string& msg) {
    ++g_errors;
    if (!g_told) {
        g_told = true;
        report("E " + kind + " " + oneline(msg));
    }
    throw CandidateError{kind, msg};
}

// An argument the code takes as `T&`: the sample may change it, and the test holds it (one
// program's call changes the test's variable). Its value after the call comes back after the
// result, and is written into the test's variable.
template <class T> struct Back {
    T& v;
};
template <class T> void enc(std::string& o, const Back<T>& b) { enc(o, b.v); }
template <class T> void back(In&, const T&) {}
template <class T> void back(In& in, const Back<T>& b) { b.v = dec<T>(in); }

// Where an argument's object is: the test's own for a `T&` or `const T&` parameter (the stub's
// parameter refers to it), a copy of its own for a by-value one.
template <class T> const void* where(const Back<T>& b) { return &b.v; }
template <class T> const void* where(const T& v) { return &v; }

template <class R, class... A> R call(unsigned id, const A&... a) {
    ++g_calls;
    if (g_dead) cand_error("died", "the candidate process is gone");
    if constexpr (sizeof...(A) > 1) {
        // One object as two reference arguments (`swap(x, x)`): the sample would see the one
        // through the other; its copies cannot share it (an attacker's review, round 16).
        const void* at[] = {where(a)...};
        for (std::size_t i = 0; i < sizeof...(A); ++i) {
            for (std::size_t j = i + 1; j < sizeof...(A); ++j) {
                if (at[i] == at[j]) {
                    report("U the test passes one object as two reference arguments: the judge's copies cannot share it");
                    cand_error("error", "one object as two reference arguments");
                }
            }
        }
    }
    std::string o = std::to_string(id);
    o += ';';
    (enc(o, a), ...);
    std::string rep;
    if (!write_msg(g_req, o) || !read_msg(g_rep, rep)) {
        g_dead = true;
        cand_error("died", "the candidate process ended during a call");
    }
    In in{rep.data(), rep.data() + rep.size()};
    std::string kind, msg;
    try {
        char tag = in.get();
        if (tag == 'X') {
            kind = dec<std::string>(in);
            msg = dec<std::string>(in);
        } else if (tag != 'R') {
            throw Malformed{"not an answer"};
        } else if constexpr (std::is_void_v<R>) {
            in.expect('V');
            (back(in, a), ...);
            end(in);
            return;
        } else {
            R r = dec<R>(in);
            (back(in, a), ...);
            end(in);
            return r;
        }
    } catch (Malformed& m) {
        cand_error("error", "the answer is not a plain value of the declared type: " + m.what);
    }
    cand_error(kind == "memory" ? "memory" : "error", msg);
}

inline void site_event(int site, bool ok, bool called, bool err, const std::string& why) {
    if (site < 0 || site >= static_cast<int>(g_sites.size())) return;
    SiteState& s = g_sites[static_cast<std::size_t>(site)];
    SiteState b = s;
    s.ran = true;
    s.failed = s.failed || !ok;
    s.called = s.called || called;
    s.errored = s.errored || err;
    if (!b.ran || s.failed != b.failed || s.called != b.called || s.errored != b.errored)
        report("S " + std::to_string(site) + " " + (s.failed ? "1" : "0") + " " +
               (s.called ? "1" : "0") + " " + (s.errored ? "1" : "0") + " " +
               (!ok && !b.failed ? oneline(why) : std::string()));
}

template <class F> void check(int site, F&& f) {
    bool ok = false;
    std::string why;
    try {
        ok = f();
    } catch (CandidateError& e) {
        why = "the candidate failed: " + e.msg;
    } catch (std::exception& e) {
        why = std::string("the check raised: ") + e.what();
    } catch (...) {
        why = "the check raised an exception";
    }
    bool called = g_calls > g_mark_calls, errored = g_errors > g_mark_errors;
    g_mark_calls = g_calls;
    g_mark_errors = g_errors;
    if (errored && why.empty()) why = "the candidate failed during the check";
    site_event(site, ok && !errored, called, errored || !why.empty(), why);
}

// What the judge passes for a test's `main`'s `argv` (and `envp`, which then holds the same one
// word): a one-word command line, as whatever pointer type the test declares.
struct Argv {
    template <class T> operator T() const {
        static char arg0[] = "test";
        static char* argv[] = {arg0, nullptr};
        return (T)argv;
    }
};

template <class F> int judge(int n, F test_main) {
    char buf[128];
    if (!std::fgets(buf, sizeof buf, stdin)) return 3;
    g_nonce = buf;
    while (!g_nonce.empty() && (g_nonce.back() == '\n' || g_nonce.back() == '\r'))
        g_nonce.pop_back();
    g_report = fdopen(3, "w");
    g_req = fdopen(4, "w");
    g_rep = fdopen(5, "r");
    if (!g_report || !g_req || !g_rep) return 4;
    bool whole = n == 0;
    g_sites.assign(whole ? 1 : static_cast<std::size_t>(n), SiteState{});
    std::string failure;
    try {
        // A test's `main` that returns non-zero says the test failed (HumanEval-X's C++ tests
        // end with an implicit `return 0`, which the judge's plan makes explicit).
        if constexpr (std::is_void_v<decltype(test_main())>) {
            test_main();
        } else {
            auto status = test_main();
            if (status != 0) failure = "the test's main returned " + std::to_string(status);
        }
    } catch (CandidateError& e) {
        failure = "the candidate failed: " + e.msg;
    } catch (std::exception& e) {
        failure = std::string("the test raised: ") + e.what();
    } catch (...) {
        failure = "the test raised an exception";
    }
    if (whole) {
        bool errored = g_errors > 0;
        site_event(0, failure.empty() && !errored, g_calls > 0, errored || !failure.empty(),
                   failure.empty() ? "the candidate failed" : failure);
    } else if (!failure.empty()) {
        report("T " + oneline(failure));
    }
    report("D " + std::to_string(n));
    return 0;
}

}  // namespace rrtf
