#!/usr/bin/env python3
"""Writes rrtf's HumanEval-X-format slice from problems.py: python3 make_slice.py tests/data/humaneval-x
(then check.py runs every canonical and wrong completion through `rrtf exec run`)."""
import json
import os
import sys
import textwrap

sys.path.insert(0, os.path.dirname(__file__))
from problems import P  # noqa: E402

OUT = sys.argv[1]
LANGS = ["python", "cpp", "java", "js", "go"]
PREFIX = {"python": "Python", "cpp": "CPP", "java": "Java", "js": "JavaScript", "go": "Go"}
WORDS = {
    "python": ("list", "True", "False"),
    "cpp": ("vector", "true", "false"),
    "java": ("list", "true", "false"),
    "js": ("array", "true", "false"),
    "go": ("slice", "true", "false"),
}


def camel(n):
    a = n.split("_")
    return a[0] + "".join(w.capitalize() for w in a[1:])


def pascal(n):
    return "".join(w.capitalize() for w in n.split("_"))


def fname(p, lang):
    return {"python": p["name"], "cpp": p["name"], "java": camel(p["name"]),
            "js": camel(p["name"]), "go": pascal(p["name"])}[lang]


TYPES = {
    "python": {"int": "int", "str": "str", "bool": "bool", "list[int]": "List[int]",
               "list[str]": "List[str]", "list[list[int]]": "List[List[int]]"},
    "cpp": {"int": "int", "str": "string", "bool": "bool", "list[int]": "vector<int>",
            "list[str]": "vector<string>", "list[list[int]]": "vector<vector<int>>"},
    "java": {"int": "int", "str": "String", "bool": "boolean", "list[int]": "List<Integer>",
             "list[str]": "List<String>", "list[list[int]]": "List<List<Integer>>"},
    "go": {"int": "int", "str": "string", "bool": "bool", "list[int]": "[]int",
           "list[str]": "[]string", "list[list[int]]": "[][]int"},
}


def elem(t):
    return t[len("list["):-1]


def q(s):
    return json.dumps(s)


def lit(lang, v, t, top=True):
    """A value as source text of `lang` (`top`: where the type must be spelled)."""
    if t == "int":
        return str(v)
    if t == "bool":
        return ("True" if v else "False") if lang == "python" else ("true" if v else "false")
    if t == "str":
        return repr(v) if lang == "python" else q(v)
    e = elem(t)
    items = ", ".join(lit(lang, x, e, top=False) for x in v)
    if lang in ("python", "js"):
        return f"[{items}]"
    if lang == "cpp":
        return f"{{{items}}}"
    if lang == "go":
        return f"{TYPES['go'][t]}{{{items}}}" if top else f"{{{items}}}"
    if lang == "java":
        return f"Arrays.asList({items})" if v else "new ArrayList<>()"
    raise ValueError(lang)


def shown(lang, v, t):
    """A result as the docstring shows it."""
    if lang == "java" and t.startswith("list"):
        return "[" + ", ".join(shown(lang, x, elem(t)) for x in v) + "]"
    if lang == "js":
        return json.dumps(v)
    return lit(lang, v, t)


def call(lang, p, args):
    ts = [t for _, t in p["params"]]
    return f"{fname(p, lang)}({', '.join(lit(lang, a, t) for a, t in zip(args, ts))})"


def doc_lines(p, lang, width):
    lst, tr, fa = WORDS[lang]
    text = p["doc"].replace("{list}", lst).replace("{true}", tr).replace("{false}", fa)
    lines = textwrap.wrap(text, width)
    for args, res in p["examples"]:
        lines.append(">>> " + call(lang, p, args))
        lines.append(shown(lang, res, p["ret"]))
    return lines


def prompt_decl(p, lang):
    name = fname(p, lang)
    ps = p["params"]
    if lang == "python":
        uses_list = any(t.startswith("list") for _, t in ps) or p["ret"].startswith("list")
        head = "from typing import List\n" if uses_list else ""
        sig = ", ".join(f"{n}: {TYPES['python'][t]}" for n, t in ps)
        decl = f"{head}\n\ndef {name}({sig}) -> {TYPES['python'][p['ret']]}:\n"
        lines = doc_lines(p, lang, 84)
        doc = '    """ ' + lines[0] + "\n" + "".join(f"    {l}\n" for l in lines[1:]) + '    """\n'
        return decl + doc, decl, {}
    if lang == "cpp":
        inc = ["stdio.h", "vector", "string"] + p["cpp_includes"]
        head = "".join(f"#include<{h}>\n" for h in inc) + "using namespace std;\n"
        sig = ", ".join(f"{TYPES['cpp'][t]} {n}" for n, t in ps)
        decl = head + f"{TYPES['cpp'][p['ret']]} {name}({sig}){{\n"
        doc = "/*\n" + "".join(l + "\n" for l in doc_lines(p, lang, 88)) + "*/\n"
        return doc + decl, decl, {}
    if lang == "java":
        head = "import java.util.*;\nimport java.lang.*;\n\nclass Solution {\n"
        sig = ", ".join(f"{TYPES['java'][t]} {n}" for n, t in ps)
        method = f"    public {TYPES['java'][p['ret']]} {name}({sig}) {{\n"
        doc = "    /**\n" + "".join(f"    {l}\n" for l in doc_lines(p, lang, 84)) + "     */\n"
        return head + doc + method, head + method, {}
    if lang == "js":
        sig = ", ".join(n for n, _ in ps)
        decl = f"\nconst {name} = ({sig}) => {{\n"
        lines = doc_lines(p, lang, 86)
        doc = "/* " + lines[0] + "\n" + "".join(f"  {l}\n" for l in lines[1:]) + "  */\n"
        return doc + decl.lstrip("\n"), decl, {}
    if lang == "go":
        imp = ""
        if p["go_imports"]:
            imp = "import (\n" + "".join(f'    "{i}"\n' for i in p["go_imports"]) + ")\n"
        sig = ", ".join(f"{n} {TYPES['go'][t]}" for n, t in ps)
        decl = f"\nfunc {name}({sig}) {TYPES['go'][p['ret']]} {{\n"
        docstring = "".join(f"// {l}\n" for l in doc_lines(p, lang, 86))
        prompt = (imp + "\n" if imp else "") + docstring + decl.lstrip("\n")
        extra = {
            "import": imp,
            "docstring": docstring,
            "test_setup": 'package main\n\nimport (\n    "testing"\n    "github.com/stretchr/testify/assert"\n)\n',
        }
        return prompt, decl, extra
    raise ValueError(lang)


def test_src(p, lang, cases):
    name = fname(p, lang)
    rt = p["ret"]
    if lang == "python":
        body = "".join(
            f"    assert candidate({', '.join(lit(lang, a, t) for a, (_, t) in zip(args, p['params']))})"
            f" == {lit(lang, res, rt)}\n" for args, res in cases)
        return f"\n\ndef check(candidate):\n{body}\ncheck({name})\n"
    if lang == "cpp":
        # HumanEval-X's `issame` for vectors (a braced list at the top of `assert(...)`
        # would split the macro's argument at its commas).
        if rt.startswith("list"):
            ty = TYPES["cpp"][rt]
            helper = f"bool issame({ty} a, {ty} b){{\n    return a == b;\n}}\n"
            body = "".join(f"    assert (issame({call(lang, p, args)}, {lit(lang, res, rt)}));\n"
                           for args, res in cases)
        else:
            helper = ""
            body = "".join(f"    assert ({call(lang, p, args)} == {lit(lang, res, rt)});\n"
                           for args, res in cases)
        return f"#undef NDEBUG\n#include<assert.h>\n{helper}int main(){{\n{body}}}\n"
    if lang == "java":
        def check(args, res):
            c = "s." + call(lang, p, args)
            if rt in ("int", "bool"):
                return f"{c} == {lit(lang, res, rt)}"
            return f"{c}.equals({lit(lang, res, rt)})"
        items = ",\n".join(f"                {check(a, r)}" for a, r in cases)
        return ("public class Main {\n    public static void main(String[] args) {\n"
                "        Solution s = new Solution();\n"
                f"        List<Boolean> correct = Arrays.asList(\n{items}\n        );\n"
                "        if (correct.contains(false)) {\n            throw new AssertionError();\n"
                "        }\n    }\n}\n")
    if lang == "js":
        def check(args, res):
            c = call(lang, p, args)
            if rt.startswith("list"):
                return f"JSON.stringify({c}) === JSON.stringify({lit(lang, res, rt)})"
            return f"{c} === {lit(lang, res, rt)}"
        tname = "test" + pascal(p["name"])
        body = "".join(f"  console.assert({check(a, r)})\n" for a, r in cases)
        return f"const {tname} = () => {{\n{body}}}\n\n{tname}()\n"
    if lang == "go":
        body = "".join(f"    assert.Equal({lit(lang, res, rt)}, {call(lang, p, args)})\n"
                       for args, res in cases)
        return f"func Test{name}(t *testing.T) {{\n    assert := assert.New(t)\n{body}}}\n"
    raise ValueError(lang)


def main():
    os.makedirs(OUT, exist_ok=True)
    wrong = []
    for lang in LANGS:
        rows = []
        for i, p in enumerate(P):
            prompt, decl, extra = prompt_decl(p, lang)
            tid = f"{PREFIX[lang]}/{i}"
            row = {"task_id": tid, "prompt": prompt}
            row.update({k: extra[k] for k in ("import", "docstring") if k in extra})
            row["declaration"] = decl
            row["canonical_solution"] = p["sol"][lang]
            row["test"] = test_src(p, lang, p["tests"])
            if "test_setup" in extra:
                row["test_setup"] = extra["test_setup"]
            row["example_test"] = test_src(p, lang, p["examples"])
            if lang == "python":
                row["entry_point"] = p["name"]
            rows.append(row)
            wrong.append({"task_id": tid, "completion": p["wrong"][lang]})
        with open(os.path.join(OUT, f"humaneval_{lang}.jsonl"), "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
    with open(os.path.join(OUT, "wrong.jsonl"), "w") as f:
        for r in wrong:
            f.write(json.dumps(r) + "\n")


main()
