"""The official `openai` Python client against `rrtf serve` (run by tests/serve.rs).

Usage: python3 tests/openai_client.py BASE_URL MODEL API_KEY
Prints one JSON object: a completion, a chat completion, a fill-in-the-middle completion
(`suffix`) and a streamed completion.
Exits 3 with the install command when the `openai` package is missing.
"""

import json
import sys

try:
    import openai
except ImportError as e:
    print(
        f"the `openai` Python package is not installed ({e}): "
        "install it with `python3 -m pip install --break-system-packages openai` "
        "(.ci/run does this)",
        file=sys.stderr,
    )
    sys.exit(3)


def main():
    base_url, model, key = sys.argv[1:4]
    client = openai.OpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=120)
    models = [m.id for m in client.models.list()]
    comp = client.completions.create(
        model=model, prompt="def add(a, b):", max_tokens=8, temperature=0, stop=["\n\n"]
    )
    chat = client.chat.completions.create(
        model=model,
        messages=[
            {"role": "system", "content": "You write Python."},
            {"role": "user", "content": "Add two numbers."},
        ],
        max_tokens=8,
        temperature=0.7,
        seed=3,
        n=2,
    )
    fim = client.completions.create(
        model=model, prompt="def add(a, b):\n    ", suffix="\n\nprint(add(1, 2))\n", max_tokens=8,
        temperature=0,
    )
    streamed = "".join(
        c.choices[0].text
        for c in client.completions.create(
            model=model, prompt="def add(a, b):", max_tokens=8, temperature=0, stop=["\n\n"], stream=True
        )
        if c.choices
    )
    try:
        client.completions.create(model=model, prompt="x", max_tokens=1, temperature=9)
        bad = None
    except openai.BadRequestError as e:
        bad = {"status": e.status_code, "param": e.body.get("param") if isinstance(e.body, dict) else None}
    print(
        json.dumps(
            {
                "openai_version": openai.__version__,
                "models": models,
                "completion": {
                    "text": comp.choices[0].text,
                    "finish_reason": comp.choices[0].finish_reason,
                    "usage": comp.usage.model_dump(),
                },
                "chat": {
                    "object": chat.object,
                    "contents": [c.message.content for c in chat.choices],
                    "roles": [c.message.role for c in chat.choices],
                    "finish_reasons": [c.finish_reason for c in chat.choices],
                    "usage": chat.usage.model_dump(),
                },
                "streamed": streamed,
                "fim": fim.choices[0].text,
                "bad_request": bad,
            }
        )
    )


if __name__ == "__main__":
    main()
