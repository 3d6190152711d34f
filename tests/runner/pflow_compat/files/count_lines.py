text: str

result: dict = {"lines": len(text.splitlines()), "first": text.splitlines()[0]}
