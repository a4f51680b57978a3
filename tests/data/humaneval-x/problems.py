# The 20 problems of rrtf's HumanEval-X-format slice: spec, cases, and per-language bodies.
# Types: int, str, bool, list[int], list[str], list[list[int]].

P = []


def problem(name, params, ret, doc, examples, tests, sol, wrong, go_imports=(), cpp_includes=()):
    P.append(dict(name=name, params=params, ret=ret, doc=doc, examples=examples, tests=tests,
                  sol=sol, wrong=wrong, go_imports=list(go_imports),
                  cpp_includes=list(cpp_includes)))


# ---------------------------------------------------------------- 0
problem(
    "sum_of_evens", [("numbers", "list[int]")], "int",
    "Return the sum of the even numbers in the given {list}. Negative even numbers count as "
    "well, and an empty {list} gives 0.",
    [(([1, 2, 3, 4],), 6), (([],), 0)],
    [(([1, 2, 3, 4],), 6), (([],), 0), (([1, 3, 5],), 0), (([-2, -3, 4],), 2),
     (([0, 7, 10],), 10), (([2, 2, 2],), 6)],
    {
        "python": "    return sum(x for x in numbers if x % 2 == 0)\n",
        "cpp": "    int total = 0;\n    for (int x : numbers)\n        if (x % 2 == 0) total += x;\n    return total;\n}\n",
        "java": "        int total = 0;\n        for (int x : numbers) {\n            if (x % 2 == 0) {\n                total += x;\n            }\n        }\n        return total;\n    }\n}\n",
        "js": "  let total = 0;\n  for (const x of numbers) {\n    if (x % 2 === 0) total += x;\n  }\n  return total;\n}\n",
        "go": "    total := 0\n    for _, x := range numbers {\n        if x%2 == 0 {\n            total += x\n        }\n    }\n    return total\n}\n",
    },
    {
        "python": "    return sum(x for x in numbers if x > 0 and x % 2 == 0)\n",
        "cpp": "    int total = 0;\n    for (int x : numbers)\n        if (x > 0 && x % 2 == 0) total += x;\n    return total;\n}\n",
        "java": "        int total = 0;\n        for (int x : numbers) {\n            if (x > 0 && x % 2 == 0) {\n                total += x;\n            }\n        }\n        return total;\n    }\n}\n",
        "js": "  let total = 0;\n  for (const x of numbers) {\n    if (x > 0 && x % 2 === 0) total += x;\n  }\n  return total;\n}\n",
        "go": "    total := 0\n    for _, x := range numbers {\n        if x > 0 && x%2 == 0 {\n            total += x\n        }\n    }\n    return total\n}\n",
    },
)

# ---------------------------------------------------------------- 1
problem(
    "running_max", [("numbers", "list[int]")], "list[int]",
    "Return a {list} whose i-th element is the largest of the first i + 1 elements of the "
    "input. An empty input gives an empty {list}.",
    [(([1, 3, 2, 5, 4],), [1, 3, 3, 5, 5]), (([],), [])],
    [(([1, 3, 2, 5, 4],), [1, 3, 3, 5, 5]), (([],), []), (([-5, -7, -2],), [-5, -5, -2]),
     (([4],), [4]), (([3, 3, 1],), [3, 3, 3]), (([5, 4, 3, 2],), [5, 5, 5, 5])],
    {
        "python": "    result = []\n    for x in numbers:\n        result.append(x if not result else max(result[-1], x))\n    return result\n",
        "cpp": "    vector<int> result;\n    for (size_t i = 0; i < numbers.size(); i++) {\n        if (i == 0 || numbers[i] > result.back()) result.push_back(numbers[i]);\n        else result.push_back(result.back());\n    }\n    return result;\n}\n",
        "java": "        List<Integer> result = new ArrayList<>();\n        for (int x : numbers) {\n            if (result.isEmpty() || x > result.get(result.size() - 1)) {\n                result.add(x);\n            } else {\n                result.add(result.get(result.size() - 1));\n            }\n        }\n        return result;\n    }\n}\n",
        "js": "  const result = [];\n  for (const x of numbers) {\n    result.push(result.length === 0 ? x : Math.max(result[result.length - 1], x));\n  }\n  return result;\n}\n",
        "go": "    result := make([]int, 0)\n    for i, x := range numbers {\n        if i == 0 || x > result[i-1] {\n            result = append(result, x)\n        } else {\n            result = append(result, result[i-1])\n        }\n    }\n    return result\n}\n",
    },
    {
        "python": "    result = []\n    current = 0\n    for x in numbers:\n        current = max(current, x)\n        result.append(current)\n    return result\n",
        "cpp": "    vector<int> result;\n    int current = 0;\n    for (int x : numbers) {\n        if (x > current) current = x;\n        result.push_back(current);\n    }\n    return result;\n}\n",
        "java": "        List<Integer> result = new ArrayList<>();\n        int current = 0;\n        for (int x : numbers) {\n            current = Math.max(current, x);\n            result.add(current);\n        }\n        return result;\n    }\n}\n",
        "js": "  const result = [];\n  let current = 0;\n  for (const x of numbers) {\n    current = Math.max(current, x);\n    result.push(current);\n  }\n  return result;\n}\n",
        "go": "    result := make([]int, 0)\n    current := 0\n    for _, x := range numbers {\n        if x > current {\n            current = x\n        }\n        result = append(result, current)\n    }\n    return result\n}\n",
    },
)

# ---------------------------------------------------------------- 2
problem(
    "compress_runs", [("s", "str")], "str",
    "Compress a string by replacing every run of equal consecutive characters with the "
    "character followed by the length of the run. An empty string stays empty.",
    [(("aaabcc",), "a3b1c2"), (("",), "")],
    [(("aaabcc",), "a3b1c2"), (("",), ""), (("x",), "x1"), (("abab",), "a1b1a1b1"),
     (("zzzzzzzzzzzz",), "z12"), (("aAa",), "a1A1a1")],
    {
        "python": "    out = []\n    i = 0\n    while i < len(s):\n        j = i\n        while j < len(s) and s[j] == s[i]:\n            j += 1\n        out.append(s[i] + str(j - i))\n        i = j\n    return \"\".join(out)\n",
        "cpp": "    string out = \"\";\n    size_t i = 0;\n    while (i < s.size()) {\n        size_t j = i;\n        while (j < s.size() && s[j] == s[i]) j++;\n        out += s[i];\n        out += to_string(j - i);\n        i = j;\n    }\n    return out;\n}\n",
        "java": "        StringBuilder out = new StringBuilder();\n        int i = 0;\n        while (i < s.length()) {\n            int j = i;\n            while (j < s.length() && s.charAt(j) == s.charAt(i)) {\n                j++;\n            }\n            out.append(s.charAt(i)).append(j - i);\n            i = j;\n        }\n        return out.toString();\n    }\n}\n",
        "js": "  let out = '';\n  let i = 0;\n  while (i < s.length) {\n    let j = i;\n    while (j < s.length && s[j] === s[i]) j++;\n    out += s[i] + (j - i);\n    i = j;\n  }\n  return out;\n}\n",
        "go": "    out := \"\"\n    i := 0\n    for i < len(s) {\n        j := i\n        for j < len(s) && s[j] == s[i] {\n            j++\n        }\n        out += s[i:i+1] + strconv.Itoa(j-i)\n        i = j\n    }\n    return out\n}\n",
    },
    {
        "python": "    out = \"\"\n    count = 1\n    for i in range(1, len(s)):\n        if s[i] == s[i - 1]:\n            count += 1\n        else:\n            out += s[i - 1] + str(count)\n            count = 1\n    return out\n",
        "cpp": "    string out = \"\";\n    int count = 1;\n    for (size_t i = 1; i < s.size(); i++) {\n        if (s[i] == s[i - 1]) count++;\n        else {\n            out += s[i - 1];\n            out += to_string(count);\n            count = 1;\n        }\n    }\n    return out;\n}\n",
        "java": "        StringBuilder out = new StringBuilder();\n        int count = 1;\n        for (int i = 1; i < s.length(); i++) {\n            if (s.charAt(i) == s.charAt(i - 1)) {\n                count++;\n            } else {\n                out.append(s.charAt(i - 1)).append(count);\n                count = 1;\n            }\n        }\n        return out.toString();\n    }\n}\n",
        "js": "  let out = '';\n  let count = 1;\n  for (let i = 1; i < s.length; i++) {\n    if (s[i] === s[i - 1]) {\n      count++;\n    } else {\n      out += s[i - 1] + count;\n      count = 1;\n    }\n  }\n  return out;\n}\n",
        "go": "    out := \"\"\n    count := 1\n    for i := 1; i < len(s); i++ {\n        if s[i] == s[i-1] {\n            count++\n        } else {\n            out += s[i-1:i] + strconv.Itoa(count)\n            count = 1\n        }\n    }\n    return out\n}\n",
    },
    go_imports=["strconv"],
)

# ---------------------------------------------------------------- 3
problem(
    "brackets_balanced", [("s", "str")], "bool",
    "s is a string of the characters '(', ')', '[', ']', '{' and '}'. Return {true} if every "
    "opening bracket is closed by a bracket of the same kind, in the right order, and no "
    "closing bracket is left over. An empty string is balanced.",
    [(("([]{})",), True), (("(]",), False)],
    [(("([]{})",), True), (("(]",), False), (("",), True), (("((",), False), (("())",), False),
     (("{[()()]}",), True), (("([)]",), False), (("][",), False)],
    {
        "python": "    pairs = {\")\": \"(\", \"]\": \"[\", \"}\": \"{\"}\n    stack = []\n    for c in s:\n        if c in \"([{\":\n            stack.append(c)\n        elif not stack or stack.pop() != pairs[c]:\n            return False\n    return not stack\n",
        "cpp": "    string stack = \"\";\n    for (char c : s) {\n        if (c == '(' || c == '[' || c == '{') {\n            stack += c;\n            continue;\n        }\n        char open = c == ')' ? '(' : (c == ']' ? '[' : '{');\n        if (stack.empty() || stack.back() != open) return false;\n        stack.pop_back();\n    }\n    return stack.empty();\n}\n",
        "java": "        Deque<Character> stack = new ArrayDeque<>();\n        for (char c : s.toCharArray()) {\n            if (c == '(' || c == '[' || c == '{') {\n                stack.push(c);\n            } else {\n                char open = c == ')' ? '(' : (c == ']' ? '[' : '{');\n                if (stack.isEmpty() || stack.pop() != open) {\n                    return false;\n                }\n            }\n        }\n        return stack.isEmpty();\n    }\n}\n",
        "js": "  const pairs = { ')': '(', ']': '[', '}': '{' };\n  const stack = [];\n  for (const c of s) {\n    if ('([{'.includes(c)) {\n      stack.push(c);\n    } else if (stack.length === 0 || stack.pop() !== pairs[c]) {\n      return false;\n    }\n  }\n  return stack.length === 0;\n}\n",
        "go": "    pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}\n    stack := make([]rune, 0)\n    for _, c := range s {\n        if c == '(' || c == '[' || c == '{' {\n            stack = append(stack, c)\n            continue\n        }\n        if len(stack) == 0 || stack[len(stack)-1] != pairs[c] {\n            return false\n        }\n        stack = stack[:len(stack)-1]\n    }\n    return len(stack) == 0\n}\n",
    },
    {
        "python": "    depth = 0\n    for c in s:\n        if c in \"([{\":\n            depth += 1\n        else:\n            depth -= 1\n            if depth < 0:\n                return False\n    return depth == 0\n",
        "cpp": "    int depth = 0;\n    for (char c : s) {\n        if (c == '(' || c == '[' || c == '{') depth++;\n        else {\n            depth--;\n            if (depth < 0) return false;\n        }\n    }\n    return depth == 0;\n}\n",
        "java": "        int depth = 0;\n        for (char c : s.toCharArray()) {\n            if (c == '(' || c == '[' || c == '{') {\n                depth++;\n            } else {\n                depth--;\n                if (depth < 0) {\n                    return false;\n                }\n            }\n        }\n        return depth == 0;\n    }\n}\n",
        "js": "  let depth = 0;\n  for (const c of s) {\n    if ('([{'.includes(c)) {\n      depth++;\n    } else {\n      depth--;\n      if (depth < 0) return false;\n    }\n  }\n  return depth === 0;\n}\n",
        "go": "    depth := 0\n    for _, c := range s {\n        if c == '(' || c == '[' || c == '{' {\n            depth++\n        } else {\n            depth--\n            if depth < 0 {\n                return false\n            }\n        }\n    }\n    return depth == 0\n}\n",
    },
)

# ---------------------------------------------------------------- 4
problem(
    "second_largest", [("numbers", "list[int]")], "int",
    "Given a {list} of non-negative integers, return the second largest distinct value in it. "
    "If the {list} holds fewer than two distinct values, return -1.",
    [(([3, 1, 4, 1, 5],), 4), (([7, 7],), -1)],
    [(([3, 1, 4, 1, 5],), 4), (([7, 7],), -1), (([],), -1), (([2, 9],), 2),
     (([5, 5, 4, 4],), 4), (([0, 1],), 0), (([10],), -1)],
    {
        "python": "    distinct = sorted(set(numbers), reverse=True)\n    return distinct[1] if len(distinct) >= 2 else -1\n",
        "cpp": "    int first = -1, second = -1;\n    for (int x : numbers) {\n        if (x > first) {\n            second = first;\n            first = x;\n        } else if (x < first && x > second) {\n            second = x;\n        }\n    }\n    return second;\n}\n",
        "java": "        int first = -1, second = -1;\n        for (int x : numbers) {\n            if (x > first) {\n                second = first;\n                first = x;\n            } else if (x < first && x > second) {\n                second = x;\n            }\n        }\n        return second;\n    }\n}\n",
        "js": "  let first = -1;\n  let second = -1;\n  for (const x of numbers) {\n    if (x > first) {\n      second = first;\n      first = x;\n    } else if (x < first && x > second) {\n      second = x;\n    }\n  }\n  return second;\n}\n",
        "go": "    distinct := make([]int, 0)\n    seen := map[int]bool{}\n    for _, x := range numbers {\n        if !seen[x] {\n            seen[x] = true\n            distinct = append(distinct, x)\n        }\n    }\n    if len(distinct) < 2 {\n        return -1\n    }\n    sort.Sort(sort.Reverse(sort.IntSlice(distinct)))\n    return distinct[1]\n}\n",
    },
    {
        "python": "    ordered = sorted(numbers, reverse=True)\n    return ordered[1] if len(ordered) >= 2 else -1\n",
        "cpp": "    if (numbers.size() < 2) return -1;\n    sort(numbers.begin(), numbers.end());\n    return numbers[numbers.size() - 2];\n}\n",
        "java": "        if (numbers.size() < 2) {\n            return -1;\n        }\n        List<Integer> sorted = new ArrayList<>(numbers);\n        Collections.sort(sorted);\n        return sorted.get(sorted.size() - 2);\n    }\n}\n",
        "js": "  if (numbers.length < 2) return -1;\n  const sorted = [...numbers].sort((a, b) => b - a);\n  return sorted[1];\n}\n",
        "go": "    if len(numbers) < 2 {\n        return -1\n    }\n    sorted := append([]int{}, numbers...)\n    sort.Sort(sort.Reverse(sort.IntSlice(sorted)))\n    return sorted[1]\n}\n",
    },
    go_imports=["sort"], cpp_includes=["algorithm"],
)

# ---------------------------------------------------------------- 5
problem(
    "rotate_left", [("numbers", "list[int]"), ("k", "int")], "list[int]",
    "Rotate the {list} to the left by k positions: the first k elements move to the end, in "
    "order. k is non-negative and may be larger than the length of the {list}. An empty "
    "{list} stays empty.",
    [(([1, 2, 3, 4, 5], 2), [3, 4, 5, 1, 2]), (([1, 2, 3], 3), [1, 2, 3])],
    [(([1, 2, 3, 4, 5], 2), [3, 4, 5, 1, 2]), (([1, 2, 3], 3), [1, 2, 3]), (([], 4), []),
     (([1, 2, 3], 0), [1, 2, 3]), (([1, 2, 3], 7), [2, 3, 1]), (([9], 5), [9])],
    {
        "python": "    if not numbers:\n        return []\n    k %= len(numbers)\n    return numbers[k:] + numbers[:k]\n",
        "cpp": "    vector<int> result;\n    int n = numbers.size();\n    if (n == 0) return result;\n    k %= n;\n    for (int i = 0; i < n; i++) result.push_back(numbers[(i + k) % n]);\n    return result;\n}\n",
        "java": "        List<Integer> result = new ArrayList<>();\n        int n = numbers.size();\n        if (n == 0) {\n            return result;\n        }\n        k %= n;\n        for (int i = 0; i < n; i++) {\n            result.add(numbers.get((i + k) % n));\n        }\n        return result;\n    }\n}\n",
        "js": "  const n = numbers.length;\n  if (n === 0) return [];\n  k %= n;\n  return numbers.slice(k).concat(numbers.slice(0, k));\n}\n",
        "go": "    n := len(numbers)\n    result := make([]int, 0)\n    if n == 0 {\n        return result\n    }\n    k %= n\n    for i := 0; i < n; i++ {\n        result = append(result, numbers[(i+k)%n])\n    }\n    return result\n}\n",
    },
    {
        "python": "    if not numbers:\n        return []\n    k %= len(numbers)\n    return numbers[-k:] + numbers[:-k]\n",
        "cpp": "    vector<int> result;\n    int n = numbers.size();\n    if (n == 0) return result;\n    k %= n;\n    for (int i = 0; i < n; i++) result.push_back(numbers[(i - k + n) % n]);\n    return result;\n}\n",
        "java": "        List<Integer> result = new ArrayList<>();\n        int n = numbers.size();\n        if (n == 0) {\n            return result;\n        }\n        k %= n;\n        for (int i = 0; i < n; i++) {\n            result.add(numbers.get((i - k + n) % n));\n        }\n        return result;\n    }\n}\n",
        "js": "  const n = numbers.length;\n  if (n === 0) return [];\n  k %= n;\n  return numbers.slice(n - k).concat(numbers.slice(0, n - k));\n}\n",
        "go": "    n := len(numbers)\n    result := make([]int, 0)\n    if n == 0 {\n        return result\n    }\n    k %= n\n    for i := 0; i < n; i++ {\n        result = append(result, numbers[(i-k+n)%n])\n    }\n    return result\n}\n",
    },
)

# ---------------------------------------------------------------- 6
problem(
    "digit_product", [("n", "int")], "int",
    "Given a non-negative integer n, return the product of its decimal digits. The number 0 "
    "has the single digit 0, so its product is 0.",
    [((234,), 24), ((0,), 0)],
    [((234,), 24), ((0,), 0), ((7,), 7), ((105,), 0), ((1111,), 1), ((99,), 81)],
    {
        "python": "    product = 1\n    for d in str(n):\n        product *= int(d)\n    return product\n",
        "cpp": "    int product = 1;\n    do {\n        product *= n % 10;\n        n /= 10;\n    } while (n > 0);\n    return product;\n}\n",
        "java": "        int product = 1;\n        do {\n            product *= n % 10;\n            n /= 10;\n        } while (n > 0);\n        return product;\n    }\n}\n",
        "js": "  let product = 1;\n  do {\n    product *= n % 10;\n    n = Math.floor(n / 10);\n  } while (n > 0);\n  return product;\n}\n",
        "go": "    product := 1\n    for {\n        product *= n % 10\n        n /= 10\n        if n == 0 {\n            break\n        }\n    }\n    return product\n}\n",
    },
    {
        "python": "    product = 1\n    while n > 0:\n        product *= n % 10\n        n //= 10\n    return product\n",
        "cpp": "    int product = 1;\n    while (n > 0) {\n        product *= n % 10;\n        n /= 10;\n    }\n    return product;\n}\n",
        "java": "        int product = 1;\n        while (n > 0) {\n            product *= n % 10;\n            n /= 10;\n        }\n        return product;\n    }\n}\n",
        "js": "  let product = 1;\n  while (n > 0) {\n    product *= n % 10;\n    n = Math.floor(n / 10);\n  }\n  return product;\n}\n",
        "go": "    product := 1\n    for n > 0 {\n        product *= n % 10\n        n /= 10\n    }\n    return product\n}\n",
    },
)

# ---------------------------------------------------------------- 7
problem(
    "title_case", [("s", "str")], "str",
    "Return s with the first character of every word in upper case and every other letter in "
    "lower case. Words are separated by spaces, and the spaces are kept as they are.",
    [(("hello wORLD",), "Hello World"), (("  a  b",), "  A  B")],
    [(("hello wORLD",), "Hello World"), (("",), ""), (("  a  b",), "  A  B"),
     (("PYTHON",), "Python"), (("x",), "X"), (("one two three",), "One Two Three"),
     (("9lives OK",), "9lives Ok")],
    {
        "python": "    out = []\n    for i, c in enumerate(s):\n        if i == 0 or s[i - 1] == \" \":\n            out.append(c.upper())\n        else:\n            out.append(c.lower())\n    return \"\".join(out)\n",
        "cpp": "    string out = s;\n    for (size_t i = 0; i < out.size(); i++) {\n        if (i == 0 || s[i - 1] == ' ') out[i] = toupper(out[i]);\n        else out[i] = tolower(out[i]);\n    }\n    return out;\n}\n",
        "java": "        StringBuilder out = new StringBuilder();\n        for (int i = 0; i < s.length(); i++) {\n            char c = s.charAt(i);\n            if (i == 0 || s.charAt(i - 1) == ' ') {\n                out.append(Character.toUpperCase(c));\n            } else {\n                out.append(Character.toLowerCase(c));\n            }\n        }\n        return out.toString();\n    }\n}\n",
        "js": "  let out = '';\n  for (let i = 0; i < s.length; i++) {\n    if (i === 0 || s[i - 1] === ' ') out += s[i].toUpperCase();\n    else out += s[i].toLowerCase();\n  }\n  return out;\n}\n",
        "go": "    out := \"\"\n    for i := 0; i < len(s); i++ {\n        if i == 0 || s[i-1] == ' ' {\n            out += strings.ToUpper(s[i : i+1])\n        } else {\n            out += strings.ToLower(s[i : i+1])\n        }\n    }\n    return out\n}\n",
    },
    {
        "python": "    out = []\n    for i, c in enumerate(s):\n        if i == 0 or s[i - 1] == \" \":\n            out.append(c.upper())\n        else:\n            out.append(c)\n    return \"\".join(out)\n",
        "cpp": "    string out = s;\n    for (size_t i = 0; i < out.size(); i++) {\n        if (i == 0 || s[i - 1] == ' ') out[i] = toupper(out[i]);\n    }\n    return out;\n}\n",
        "java": "        StringBuilder out = new StringBuilder();\n        for (int i = 0; i < s.length(); i++) {\n            char c = s.charAt(i);\n            if (i == 0 || s.charAt(i - 1) == ' ') {\n                out.append(Character.toUpperCase(c));\n            } else {\n                out.append(c);\n            }\n        }\n        return out.toString();\n    }\n}\n",
        "js": "  let out = '';\n  for (let i = 0; i < s.length; i++) {\n    if (i === 0 || s[i - 1] === ' ') out += s[i].toUpperCase();\n    else out += s[i];\n  }\n  return out;\n}\n",
        "go": "    out := \"\"\n    for i := 0; i < len(s); i++ {\n        if i == 0 || s[i-1] == ' ' {\n            out += strings.ToUpper(s[i : i+1])\n        } else {\n            out += s[i : i+1]\n        }\n    }\n    return out\n}\n",
    },
    go_imports=["strings"], cpp_includes=["ctype.h"],
)

# ---------------------------------------------------------------- 8
problem(
    "count_pairs_with_sum", [("numbers", "list[int]"), ("target", "int")], "int",
    "Return how many pairs of positions i < j there are with numbers[i] + numbers[j] equal to "
    "target.",
    [(([1, 2, 3, 4], 5), 2), (([2, 2, 2], 4), 3)],
    [(([1, 2, 3, 4], 5), 2), (([2, 2, 2], 4), 3), (([], 0), 0), (([5], 10), 0),
     (([-1, 1, 0, 0], 0), 2), (([1, 1, 1, 1], 3), 0)],
    {
        "python": "    count = 0\n    for i in range(len(numbers)):\n        for j in range(i + 1, len(numbers)):\n            if numbers[i] + numbers[j] == target:\n                count += 1\n    return count\n",
        "cpp": "    int count = 0;\n    for (size_t i = 0; i < numbers.size(); i++)\n        for (size_t j = i + 1; j < numbers.size(); j++)\n            if (numbers[i] + numbers[j] == target) count++;\n    return count;\n}\n",
        "java": "        int count = 0;\n        for (int i = 0; i < numbers.size(); i++) {\n            for (int j = i + 1; j < numbers.size(); j++) {\n                if (numbers.get(i) + numbers.get(j) == target) {\n                    count++;\n                }\n            }\n        }\n        return count;\n    }\n}\n",
        "js": "  let count = 0;\n  for (let i = 0; i < numbers.length; i++) {\n    for (let j = i + 1; j < numbers.length; j++) {\n      if (numbers[i] + numbers[j] === target) count++;\n    }\n  }\n  return count;\n}\n",
        "go": "    count := 0\n    for i := 0; i < len(numbers); i++ {\n        for j := i + 1; j < len(numbers); j++ {\n            if numbers[i]+numbers[j] == target {\n                count++\n            }\n        }\n    }\n    return count\n}\n",
    },
    {
        "python": "    count = 0\n    for i in range(len(numbers)):\n        for j in range(i, len(numbers)):\n            if numbers[i] + numbers[j] == target:\n                count += 1\n    return count\n",
        "cpp": "    int count = 0;\n    for (size_t i = 0; i < numbers.size(); i++)\n        for (size_t j = i; j < numbers.size(); j++)\n            if (numbers[i] + numbers[j] == target) count++;\n    return count;\n}\n",
        "java": "        int count = 0;\n        for (int i = 0; i < numbers.size(); i++) {\n            for (int j = i; j < numbers.size(); j++) {\n                if (numbers.get(i) + numbers.get(j) == target) {\n                    count++;\n                }\n            }\n        }\n        return count;\n    }\n}\n",
        "js": "  let count = 0;\n  for (let i = 0; i < numbers.length; i++) {\n    for (let j = i; j < numbers.length; j++) {\n      if (numbers[i] + numbers[j] === target) count++;\n    }\n  }\n  return count;\n}\n",
        "go": "    count := 0\n    for i := 0; i < len(numbers); i++ {\n        for j := i; j < len(numbers); j++ {\n            if numbers[i]+numbers[j] == target {\n                count++\n            }\n        }\n    }\n    return count\n}\n",
    },
)

# ---------------------------------------------------------------- 9
problem(
    "interleave", [("a", "list[int]"), ("b", "list[int]")], "list[int]",
    "Return a {list} that takes elements alternately from a and b, starting with a. When one "
    "of them runs out, the remaining elements of the other follow in order.",
    [(([1, 2, 3], [10, 20, 30]), [1, 10, 2, 20, 3, 30]), (([1], [7, 8, 9]), [1, 7, 8, 9])],
    [(([1, 2, 3], [10, 20, 30]), [1, 10, 2, 20, 3, 30]), (([1], [7, 8, 9]), [1, 7, 8, 9]),
     (([1, 2, 3], []), [1, 2, 3]), (([], []), []), (([], [4, 5]), [4, 5]),
     (([5, 6, 7, 8], [0]), [5, 0, 6, 7, 8])],
    {
        "python": "    result = []\n    for i in range(max(len(a), len(b))):\n        if i < len(a):\n            result.append(a[i])\n        if i < len(b):\n            result.append(b[i])\n    return result\n",
        "cpp": "    vector<int> result;\n    for (size_t i = 0; i < a.size() || i < b.size(); i++) {\n        if (i < a.size()) result.push_back(a[i]);\n        if (i < b.size()) result.push_back(b[i]);\n    }\n    return result;\n}\n",
        "java": "        List<Integer> result = new ArrayList<>();\n        for (int i = 0; i < a.size() || i < b.size(); i++) {\n            if (i < a.size()) {\n                result.add(a.get(i));\n            }\n            if (i < b.size()) {\n                result.add(b.get(i));\n            }\n        }\n        return result;\n    }\n}\n",
        "js": "  const result = [];\n  for (let i = 0; i < a.length || i < b.length; i++) {\n    if (i < a.length) result.push(a[i]);\n    if (i < b.length) result.push(b[i]);\n  }\n  return result;\n}\n",
        "go": "    result := make([]int, 0)\n    for i := 0; i < len(a) || i < len(b); i++ {\n        if i < len(a) {\n            result = append(result, a[i])\n        }\n        if i < len(b) {\n            result = append(result, b[i])\n        }\n    }\n    return result\n}\n",
    },
    {
        "python": "    result = []\n    for i in range(min(len(a), len(b))):\n        result.append(a[i])\n        result.append(b[i])\n    return result + a[len(b):]\n",
        "cpp": "    vector<int> result;\n    size_t i = 0;\n    for (; i < a.size() && i < b.size(); i++) {\n        result.push_back(a[i]);\n        result.push_back(b[i]);\n    }\n    for (; i < a.size(); i++) result.push_back(a[i]);\n    return result;\n}\n",
        "java": "        List<Integer> result = new ArrayList<>();\n        int i = 0;\n        for (; i < a.size() && i < b.size(); i++) {\n            result.add(a.get(i));\n            result.add(b.get(i));\n        }\n        for (; i < a.size(); i++) {\n            result.add(a.get(i));\n        }\n        return result;\n    }\n}\n",
        "js": "  const result = [];\n  let i = 0;\n  for (; i < a.length && i < b.length; i++) {\n    result.push(a[i], b[i]);\n  }\n  return result.concat(a.slice(i));\n}\n",
        "go": "    result := make([]int, 0)\n    i := 0\n    for ; i < len(a) && i < len(b); i++ {\n        result = append(result, a[i], b[i])\n    }\n    return append(result, a[i:]...)\n}\n",
    },
)

# ---------------------------------------------------------------- 10
problem(
    "gcd_of_list", [("numbers", "list[int]")], "int",
    "Return the greatest common divisor of the positive integers in the {list}. An empty "
    "{list} gives 0.",
    [(([12, 18, 24],), 6), (([7],), 7)],
    [(([12, 18, 24],), 6), (([7],), 7), (([],), 0), (([4, 6],), 2), (([9, 28],), 1),
     (([100, 75, 50],), 25)],
    {
        "python": "    result = 0\n    for x in numbers:\n        a, b = result, x\n        while b:\n            a, b = b, a % b\n        result = a\n    return result\n",
        "cpp": "    int result = 0;\n    for (int x : numbers) {\n        int a = result, b = x;\n        while (b != 0) {\n            int t = a % b;\n            a = b;\n            b = t;\n        }\n        result = a;\n    }\n    return result;\n}\n",
        "java": "        int result = 0;\n        for (int x : numbers) {\n            int a = result, b = x;\n            while (b != 0) {\n                int t = a % b;\n                a = b;\n                b = t;\n            }\n            result = a;\n        }\n        return result;\n    }\n}\n",
        "js": "  let result = 0;\n  for (const x of numbers) {\n    let a = result;\n    let b = x;\n    while (b !== 0) {\n      [a, b] = [b, a % b];\n    }\n    result = a;\n  }\n  return result;\n}\n",
        "go": "    result := 0\n    for _, x := range numbers {\n        a, b := result, x\n        for b != 0 {\n            a, b = b, a%b\n        }\n        result = a\n    }\n    return result\n}\n",
    },
    {
        "python": "    if not numbers:\n        return 0\n    smallest = min(numbers)\n    for d in range(smallest - 1, 0, -1):\n        if all(x % d == 0 for x in numbers):\n            return d\n    return 1\n",
        "cpp": "    if (numbers.empty()) return 0;\n    int smallest = numbers[0];\n    for (int x : numbers) if (x < smallest) smallest = x;\n    for (int d = smallest - 1; d > 0; d--) {\n        bool all = true;\n        for (int x : numbers) if (x % d != 0) all = false;\n        if (all) return d;\n    }\n    return 1;\n}\n",
        "java": "        if (numbers.isEmpty()) {\n            return 0;\n        }\n        int smallest = Collections.min(numbers);\n        for (int d = smallest - 1; d > 0; d--) {\n            boolean all = true;\n            for (int x : numbers) {\n                if (x % d != 0) {\n                    all = false;\n                }\n            }\n            if (all) {\n                return d;\n            }\n        }\n        return 1;\n    }\n}\n",
        "js": "  if (numbers.length === 0) return 0;\n  const smallest = Math.min(...numbers);\n  for (let d = smallest - 1; d > 0; d--) {\n    if (numbers.every((x) => x % d === 0)) return d;\n  }\n  return 1;\n}\n",
        "go": "    if len(numbers) == 0 {\n        return 0\n    }\n    smallest := numbers[0]\n    for _, x := range numbers {\n        if x < smallest {\n            smallest = x\n        }\n    }\n    for d := smallest - 1; d > 0; d-- {\n        all := true\n        for _, x := range numbers {\n            if x%d != 0 {\n                all = false\n            }\n        }\n        if all {\n            return d\n        }\n    }\n    return 1\n}\n",
    },
)

# ---------------------------------------------------------------- 11
problem(
    "caesar_shift", [("s", "str"), ("k", "int")], "str",
    "Shift every lower-case letter of s by k places in the alphabet, wrapping around from 'z' "
    "to 'a' (k may be negative or larger than 26). All other characters stay as they are.",
    [(("abc", 1), "bcd"), (("xyz", 3), "abc")],
    [(("abc", 1), "bcd"), (("xyz", 3), "abc"), (("hello, world!", 13), "uryyb, jbeyq!"),
     (("abc", -1), "zab"), (("Abc", 26), "Abc"), (("", 5), ""), (("az", 53), "ba")],
    {
        "python": "    out = []\n    for c in s:\n        if \"a\" <= c <= \"z\":\n            out.append(chr((ord(c) - ord(\"a\") + k) % 26 + ord(\"a\")))\n        else:\n            out.append(c)\n    return \"\".join(out)\n",
        "cpp": "    string out = s;\n    for (size_t i = 0; i < out.size(); i++) {\n        if (out[i] >= 'a' && out[i] <= 'z') {\n            out[i] = 'a' + ((out[i] - 'a' + k) % 26 + 26) % 26;\n        }\n    }\n    return out;\n}\n",
        "java": "        StringBuilder out = new StringBuilder();\n        for (char c : s.toCharArray()) {\n            if (c >= 'a' && c <= 'z') {\n                out.append((char) ('a' + ((c - 'a' + k) % 26 + 26) % 26));\n            } else {\n                out.append(c);\n            }\n        }\n        return out.toString();\n    }\n}\n",
        "js": "  let out = '';\n  for (const c of s) {\n    if (c >= 'a' && c <= 'z') {\n      const code = (((c.charCodeAt(0) - 97 + k) % 26) + 26) % 26;\n      out += String.fromCharCode(97 + code);\n    } else {\n      out += c;\n    }\n  }\n  return out;\n}\n",
        "go": "    out := make([]rune, 0)\n    for _, c := range s {\n        if c >= 'a' && c <= 'z' {\n            out = append(out, 'a'+rune(((int(c-'a')+k)%26+26)%26))\n        } else {\n            out = append(out, c)\n        }\n    }\n    return string(out)\n}\n",
    },
    {
        "python": "    out = []\n    for c in s:\n        if \"a\" <= c <= \"z\":\n            shifted = ord(c) + k\n            if shifted > ord(\"z\"):\n                shifted -= 26\n            out.append(chr(shifted))\n        else:\n            out.append(c)\n    return \"\".join(out)\n",
        "cpp": "    string out = s;\n    for (size_t i = 0; i < out.size(); i++) {\n        if (out[i] >= 'a' && out[i] <= 'z') {\n            int shifted = out[i] + k;\n            if (shifted > 'z') shifted -= 26;\n            out[i] = (char)shifted;\n        }\n    }\n    return out;\n}\n",
        "java": "        StringBuilder out = new StringBuilder();\n        for (char c : s.toCharArray()) {\n            if (c >= 'a' && c <= 'z') {\n                int shifted = c + k;\n                if (shifted > 'z') {\n                    shifted -= 26;\n                }\n                out.append((char) shifted);\n            } else {\n                out.append(c);\n            }\n        }\n        return out.toString();\n    }\n}\n",
        "js": "  let out = '';\n  for (const c of s) {\n    if (c >= 'a' && c <= 'z') {\n      let shifted = c.charCodeAt(0) + k;\n      if (shifted > 122) shifted -= 26;\n      out += String.fromCharCode(shifted);\n    } else {\n      out += c;\n    }\n  }\n  return out;\n}\n",
        "go": "    out := make([]rune, 0)\n    for _, c := range s {\n        if c >= 'a' && c <= 'z' {\n            shifted := c + rune(k)\n            if shifted > 'z' {\n                shifted -= 26\n            }\n            out = append(out, shifted)\n        } else {\n            out = append(out, c)\n        }\n    }\n    return string(out)\n}\n",
    },
)

# ---------------------------------------------------------------- 12
problem(
    "longest_word", [("sentence", "str")], "str",
    "Return the longest word of the sentence, whose words are separated by single spaces. When "
    "several words share the greatest length, return the first of them. An empty sentence "
    "gives an empty string.",
    [(("the quick brown fox",), "quick"), (("",), "")],
    [(("the quick brown fox",), "quick"), (("",), ""), (("a bb cc",), "bb"),
     (("single",), "single"), (("ab cd ef",), "ab"), (("I love programming",), "programming")],
    {
        "python": "    best = \"\"\n    for word in sentence.split(\" \"):\n        if len(word) > len(best):\n            best = word\n    return best\n",
        "cpp": "    string best = \"\", word = \"\";\n    for (size_t i = 0; i <= sentence.size(); i++) {\n        if (i == sentence.size() || sentence[i] == ' ') {\n            if (word.size() > best.size()) best = word;\n            word = \"\";\n        } else {\n            word += sentence[i];\n        }\n    }\n    return best;\n}\n",
        "java": "        String best = \"\";\n        for (String word : sentence.split(\" \")) {\n            if (word.length() > best.length()) {\n                best = word;\n            }\n        }\n        return best;\n    }\n}\n",
        "js": "  let best = '';\n  for (const word of sentence.split(' ')) {\n    if (word.length > best.length) best = word;\n  }\n  return best;\n}\n",
        "go": "    best := \"\"\n    for _, word := range strings.Split(sentence, \" \") {\n        if len(word) > len(best) {\n            best = word\n        }\n    }\n    return best\n}\n",
    },
    {
        "python": "    best = \"\"\n    for word in sentence.split(\" \"):\n        if len(word) >= len(best):\n            best = word\n    return best\n",
        "cpp": "    string best = \"\", word = \"\";\n    for (size_t i = 0; i <= sentence.size(); i++) {\n        if (i == sentence.size() || sentence[i] == ' ') {\n            if (word.size() >= best.size()) best = word;\n            word = \"\";\n        } else {\n            word += sentence[i];\n        }\n    }\n    return best;\n}\n",
        "java": "        String best = \"\";\n        for (String word : sentence.split(\" \")) {\n            if (word.length() >= best.length()) {\n                best = word;\n            }\n        }\n        return best;\n    }\n}\n",
        "js": "  let best = '';\n  for (const word of sentence.split(' ')) {\n    if (word.length >= best.length) best = word;\n  }\n  return best;\n}\n",
        "go": "    best := \"\"\n    for _, word := range strings.Split(sentence, \" \") {\n        if len(word) >= len(best) {\n            best = word\n        }\n    }\n    return best\n}\n",
    },
    go_imports=["strings"],
)

# ---------------------------------------------------------------- 13
problem(
    "dedupe_keep_first", [("numbers", "list[int]")], "list[int]",
    "Remove repeated values from the {list}: keep only the first occurrence of each value, in "
    "the original order.",
    [(([1, 2, 1, 3, 2],), [1, 2, 3]), (([],), [])],
    [(([1, 2, 1, 3, 2],), [1, 2, 3]), (([],), []), (([4, 4, 4],), [4]),
     (([3, 1, 3, 1, 2],), [3, 1, 2]), (([-1, 0, -1],), [-1, 0]), (([5, 6, 7],), [5, 6, 7])],
    {
        "python": "    seen = set()\n    result = []\n    for x in numbers:\n        if x not in seen:\n            seen.add(x)\n            result.append(x)\n    return result\n",
        "cpp": "    vector<int> result;\n    for (int x : numbers) {\n        bool seen = false;\n        for (int y : result)\n            if (y == x) seen = true;\n        if (!seen) result.push_back(x);\n    }\n    return result;\n}\n",
        "java": "        List<Integer> result = new ArrayList<>();\n        for (int x : numbers) {\n            if (!result.contains(x)) {\n                result.add(x);\n            }\n        }\n        return result;\n    }\n}\n",
        "js": "  const result = [];\n  for (const x of numbers) {\n    if (!result.includes(x)) result.push(x);\n  }\n  return result;\n}\n",
        "go": "    result := make([]int, 0)\n    seen := map[int]bool{}\n    for _, x := range numbers {\n        if !seen[x] {\n            seen[x] = true\n            result = append(result, x)\n        }\n    }\n    return result\n}\n",
    },
    {
        "python": "    result = []\n    for i, x in enumerate(numbers):\n        if x not in numbers[i + 1:]:\n            result.append(x)\n    return result\n",
        "cpp": "    vector<int> result;\n    for (size_t i = 0; i < numbers.size(); i++) {\n        bool later = false;\n        for (size_t j = i + 1; j < numbers.size(); j++)\n            if (numbers[j] == numbers[i]) later = true;\n        if (!later) result.push_back(numbers[i]);\n    }\n    return result;\n}\n",
        "java": "        List<Integer> result = new ArrayList<>();\n        for (int i = 0; i < numbers.size(); i++) {\n            if (!numbers.subList(i + 1, numbers.size()).contains(numbers.get(i))) {\n                result.add(numbers.get(i));\n            }\n        }\n        return result;\n    }\n}\n",
        "js": "  const result = [];\n  numbers.forEach((x, i) => {\n    if (!numbers.slice(i + 1).includes(x)) result.push(x);\n  });\n  return result;\n}\n",
        "go": "    result := make([]int, 0)\n    for i, x := range numbers {\n        later := false\n        for _, y := range numbers[i+1:] {\n            if y == x {\n                later = true\n            }\n        }\n        if !later {\n            result = append(result, x)\n        }\n    }\n    return result\n}\n",
    },
)

# ---------------------------------------------------------------- 14
problem(
    "digital_root", [("n", "int")], "int",
    "Given a non-negative integer n, replace it by the sum of its decimal digits, again and "
    "again, until a single digit remains, and return that digit.",
    [((38,), 2), ((0,), 0)],
    [((38,), 2), ((0,), 0), ((9,), 9), ((99,), 9), ((123456,), 3), ((10,), 1)],
    {
        "python": "    while n >= 10:\n        n = sum(int(d) for d in str(n))\n    return n\n",
        "cpp": "    while (n >= 10) {\n        int total = 0;\n        while (n > 0) {\n            total += n % 10;\n            n /= 10;\n        }\n        n = total;\n    }\n    return n;\n}\n",
        "java": "        while (n >= 10) {\n            int total = 0;\n            while (n > 0) {\n                total += n % 10;\n                n /= 10;\n            }\n            n = total;\n        }\n        return n;\n    }\n}\n",
        "js": "  while (n >= 10) {\n    let total = 0;\n    while (n > 0) {\n      total += n % 10;\n      n = Math.floor(n / 10);\n    }\n    n = total;\n  }\n  return n;\n}\n",
        "go": "    for n >= 10 {\n        total := 0\n        for n > 0 {\n            total += n % 10\n            n /= 10\n        }\n        n = total\n    }\n    return n\n}\n",
    },
    {
        "python": "    if n < 10:\n        return n\n    return sum(int(d) for d in str(n))\n",
        "cpp": "    if (n < 10) return n;\n    int total = 0;\n    while (n > 0) {\n        total += n % 10;\n        n /= 10;\n    }\n    return total;\n}\n",
        "java": "        if (n < 10) {\n            return n;\n        }\n        int total = 0;\n        while (n > 0) {\n            total += n % 10;\n            n /= 10;\n        }\n        return total;\n    }\n}\n",
        "js": "  if (n < 10) return n;\n  let total = 0;\n  while (n > 0) {\n    total += n % 10;\n    n = Math.floor(n / 10);\n  }\n  return total;\n}\n",
        "go": "    if n < 10 {\n        return n\n    }\n    total := 0\n    for n > 0 {\n        total += n % 10\n        n /= 10\n    }\n    return total\n}\n",
    },
)

# ---------------------------------------------------------------- 15
problem(
    "filter_palindromes", [("words", "list[str]")], "list[str]",
    "Return the words of the {list} that read the same forwards and backwards, in their "
    "original order. Upper and lower case letters are different, and the empty string counts "
    "as a palindrome.",
    [((["level", "hello", "noon"],), ["level", "noon"]), (([],), [])],
    [((["level", "hello", "noon"],), ["level", "noon"]), (([],), []),
     ((["", "a", "ab"],), ["", "a"]), ((["Anna", "anna"],), ["anna"]),
     ((["abcba", "abca"],), ["abcba"]), ((["xy", "yz"],), [])],
    {
        "python": "    return [w for w in words if w == w[::-1]]\n",
        "cpp": "    vector<string> result;\n    for (string w : words) {\n        string r(w.rbegin(), w.rend());\n        if (r == w) result.push_back(w);\n    }\n    return result;\n}\n",
        "java": "        List<String> result = new ArrayList<>();\n        for (String w : words) {\n            if (new StringBuilder(w).reverse().toString().equals(w)) {\n                result.add(w);\n            }\n        }\n        return result;\n    }\n}\n",
        "js": "  return words.filter((w) => w === w.split('').reverse().join(''));\n}\n",
        "go": "    result := make([]string, 0)\n    for _, w := range words {\n        ok := true\n        for i := 0; i < len(w)/2; i++ {\n            if w[i] != w[len(w)-1-i] {\n                ok = false\n            }\n        }\n        if ok {\n            result = append(result, w)\n        }\n    }\n    return result\n}\n",
    },
    {
        "python": "    return [w for w in words if len(w) < 2 or w[0] == w[-1]]\n",
        "cpp": "    vector<string> result;\n    for (string w : words) {\n        if (w.size() < 2 || w[0] == w[w.size() - 1]) result.push_back(w);\n    }\n    return result;\n}\n",
        "java": "        List<String> result = new ArrayList<>();\n        for (String w : words) {\n            if (w.length() < 2 || w.charAt(0) == w.charAt(w.length() - 1)) {\n                result.add(w);\n            }\n        }\n        return result;\n    }\n}\n",
        "js": "  return words.filter((w) => w.length < 2 || w[0] === w[w.length - 1]);\n}\n",
        "go": "    result := make([]string, 0)\n    for _, w := range words {\n        if len(w) < 2 || w[0] == w[len(w)-1] {\n            result = append(result, w)\n        }\n    }\n    return result\n}\n",
    },
)

# ---------------------------------------------------------------- 16
problem(
    "pairwise_diffs", [("numbers", "list[int]")], "list[int]",
    "Return the differences of consecutive elements: element i of the result is "
    "numbers[i + 1] - numbers[i]. A {list} with fewer than two elements gives an empty {list}.",
    [(([1, 4, 9, 16],), [3, 5, 7]), (([5],), [])],
    [(([1, 4, 9, 16],), [3, 5, 7]), (([5],), []), (([],), []), (([3, 3, 3],), [0, 0]),
     (([10, 4, 6],), [-6, 2]), (([-2, 2],), [4])],
    {
        "python": "    return [numbers[i + 1] - numbers[i] for i in range(len(numbers) - 1)]\n",
        "cpp": "    vector<int> result;\n    for (size_t i = 1; i < numbers.size(); i++) result.push_back(numbers[i] - numbers[i - 1]);\n    return result;\n}\n",
        "java": "        List<Integer> result = new ArrayList<>();\n        for (int i = 1; i < numbers.size(); i++) {\n            result.add(numbers.get(i) - numbers.get(i - 1));\n        }\n        return result;\n    }\n}\n",
        "js": "  const result = [];\n  for (let i = 1; i < numbers.length; i++) result.push(numbers[i] - numbers[i - 1]);\n  return result;\n}\n",
        "go": "    result := make([]int, 0)\n    for i := 1; i < len(numbers); i++ {\n        result = append(result, numbers[i]-numbers[i-1])\n    }\n    return result\n}\n",
    },
    {
        "python": "    return [numbers[i] - numbers[i + 1] for i in range(len(numbers) - 1)]\n",
        "cpp": "    vector<int> result;\n    for (size_t i = 1; i < numbers.size(); i++) result.push_back(numbers[i - 1] - numbers[i]);\n    return result;\n}\n",
        "java": "        List<Integer> result = new ArrayList<>();\n        for (int i = 1; i < numbers.size(); i++) {\n            result.add(numbers.get(i - 1) - numbers.get(i));\n        }\n        return result;\n    }\n}\n",
        "js": "  const result = [];\n  for (let i = 1; i < numbers.length; i++) result.push(numbers[i - 1] - numbers[i]);\n  return result;\n}\n",
        "go": "    result := make([]int, 0)\n    for i := 1; i < len(numbers); i++ {\n        result = append(result, numbers[i-1]-numbers[i])\n    }\n    return result\n}\n",
    },
)

# ---------------------------------------------------------------- 17
problem(
    "to_binary", [("n", "int")], "str",
    "Return the binary representation of the non-negative integer n as a string of '0' and "
    "'1' characters, without leading zeros. The representation of 0 is \"0\".",
    [((5,), "101"), ((0,), "0")],
    [((5,), "101"), ((0,), "0"), ((1,), "1"), ((8,), "1000"), ((255,), "11111111"),
     ((6,), "110")],
    {
        "python": "    return bin(n)[2:]\n",
        "cpp": "    if (n == 0) return \"0\";\n    string digits = \"\";\n    while (n > 0) {\n        digits = (char)('0' + n % 2) + digits;\n        n /= 2;\n    }\n    return digits;\n}\n",
        "java": "        return Integer.toBinaryString(n);\n    }\n}\n",
        "js": "  return n.toString(2);\n}\n",
        "go": "    return strconv.FormatInt(int64(n), 2)\n}\n",
    },
    {
        "python": "    digits = \"\"\n    while n > 0:\n        digits = str(n % 2) + digits\n        n //= 2\n    return digits\n",
        "cpp": "    string digits = \"\";\n    while (n > 0) {\n        digits = (char)('0' + n % 2) + digits;\n        n /= 2;\n    }\n    return digits;\n}\n",
        "java": "        String digits = \"\";\n        while (n > 0) {\n            digits = (n % 2) + digits;\n            n /= 2;\n        }\n        return digits;\n    }\n}\n",
        "js": "  let digits = '';\n  while (n > 0) {\n    digits = (n % 2) + digits;\n    n = Math.floor(n / 2);\n  }\n  return digits;\n}\n",
        "go": "    digits := \"\"\n    for n > 0 {\n        digits = strconv.Itoa(n%2) + digits\n        n /= 2\n    }\n    return digits\n}\n",
    },
    go_imports=["strconv"],
)

# ---------------------------------------------------------------- 18
problem(
    "alternating_sum", [("numbers", "list[int]")], "int",
    "Return numbers[0] - numbers[1] + numbers[2] - numbers[3] + ..., the sum with signs "
    "alternating and starting with plus. An empty {list} gives 0.",
    [(([1, 2, 3, 4],), -2), (([5],), 5)],
    [(([1, 2, 3, 4],), -2), (([5],), 5), (([],), 0), (([10, 3, 2],), 9), (([0, 0, 0],), 0),
     (([-1, -1],), 0), (([7, 1, 1, 1, 1],), 7)],
    {
        "python": "    total = 0\n    for i, x in enumerate(numbers):\n        total += x if i % 2 == 0 else -x\n    return total\n",
        "cpp": "    int total = 0;\n    for (size_t i = 0; i < numbers.size(); i++) {\n        if (i % 2 == 0) total += numbers[i];\n        else total -= numbers[i];\n    }\n    return total;\n}\n",
        "java": "        int total = 0;\n        for (int i = 0; i < numbers.size(); i++) {\n            if (i % 2 == 0) {\n                total += numbers.get(i);\n            } else {\n                total -= numbers.get(i);\n            }\n        }\n        return total;\n    }\n}\n",
        "js": "  let total = 0;\n  numbers.forEach((x, i) => {\n    total += i % 2 === 0 ? x : -x;\n  });\n  return total;\n}\n",
        "go": "    total := 0\n    for i, x := range numbers {\n        if i%2 == 0 {\n            total += x\n        } else {\n            total -= x\n        }\n    }\n    return total\n}\n",
    },
    {
        "python": "    total = 0\n    for i, x in enumerate(numbers):\n        total += x if i % 2 == 1 else -x\n    return total\n",
        "cpp": "    int total = 0;\n    for (size_t i = 0; i < numbers.size(); i++) {\n        if (i % 2 == 1) total += numbers[i];\n        else total -= numbers[i];\n    }\n    return total;\n}\n",
        "java": "        int total = 0;\n        for (int i = 0; i < numbers.size(); i++) {\n            if (i % 2 == 1) {\n                total += numbers.get(i);\n            } else {\n                total -= numbers.get(i);\n            }\n        }\n        return total;\n    }\n}\n",
        "js": "  let total = 0;\n  numbers.forEach((x, i) => {\n    total += i % 2 === 1 ? x : -x;\n  });\n  return total;\n}\n",
        "go": "    total := 0\n    for i, x := range numbers {\n        if i%2 == 1 {\n            total += x\n        } else {\n            total -= x\n        }\n    }\n    return total\n}\n",
    },
)

# ---------------------------------------------------------------- 19
problem(
    "chunk_list", [("numbers", "list[int]"), ("size", "int")], "list[list[int]]",
    "Split the {list} into consecutive chunks of the given size (size is at least 1), keeping "
    "the order. The last chunk may be shorter. An empty {list} gives no chunks.",
    [(([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]), (([], 3), [])],
    [(([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]), (([], 3), []), (([1, 2, 3], 3), [[1, 2, 3]]),
     (([1, 2, 3], 5), [[1, 2, 3]]), (([4, 5, 6, 7], 1), [[4], [5], [6], [7]]),
     (([1, 2, 3, 4], 3), [[1, 2, 3], [4]])],
    {
        "python": "    return [numbers[i:i + size] for i in range(0, len(numbers), size)]\n",
        "cpp": "    vector<vector<int>> result;\n    int n = numbers.size();\n    for (int i = 0; i < n; i += size) {\n        vector<int> chunk;\n        for (int j = i; j < i + size && j < n; j++) chunk.push_back(numbers[j]);\n        result.push_back(chunk);\n    }\n    return result;\n}\n",
        "java": "        List<List<Integer>> result = new ArrayList<>();\n        for (int i = 0; i < numbers.size(); i += size) {\n            result.add(new ArrayList<>(numbers.subList(i, Math.min(i + size, numbers.size()))));\n        }\n        return result;\n    }\n}\n",
        "js": "  const result = [];\n  for (let i = 0; i < numbers.length; i += size) result.push(numbers.slice(i, i + size));\n  return result;\n}\n",
        "go": "    result := make([][]int, 0)\n    for i := 0; i < len(numbers); i += size {\n        end := i + size\n        if end > len(numbers) {\n            end = len(numbers)\n        }\n        result = append(result, append([]int{}, numbers[i:end]...))\n    }\n    return result\n}\n",
    },
    {
        "python": "    return [numbers[i:i + size] for i in range(0, len(numbers) - size + 1, size)]\n",
        "cpp": "    vector<vector<int>> result;\n    int n = numbers.size();\n    for (int i = 0; i + size <= n; i += size) {\n        vector<int> chunk;\n        for (int j = i; j < i + size; j++) chunk.push_back(numbers[j]);\n        result.push_back(chunk);\n    }\n    return result;\n}\n",
        "java": "        List<List<Integer>> result = new ArrayList<>();\n        for (int i = 0; i + size <= numbers.size(); i += size) {\n            result.add(new ArrayList<>(numbers.subList(i, i + size)));\n        }\n        return result;\n    }\n}\n",
        "js": "  const result = [];\n  for (let i = 0; i + size <= numbers.length; i += size) result.push(numbers.slice(i, i + size));\n  return result;\n}\n",
        "go": "    result := make([][]int, 0)\n    for i := 0; i+size <= len(numbers); i += size {\n        result = append(result, append([]int{}, numbers[i:i+size]...))\n    }\n    return result\n}\n",
    },
)

assert len(P) == 20
