#!/usr/bin/env python3
"""The module graph of the embedrec crate, from its source: every `crate::X` path
(in `use` lines and inline; doc comments and comments aside) of each top-level module
of src/, counted per edge, with those inside `#[cfg(test)]` modules apart. With a layer
order (lowest first), lists every back edge (an import from a module ranked higher) and
exits 1 when there is one.

    python3 scripts/module-graph.py            # src, the order of ARCHITECTURE.md
    python3 scripts/module-graph.py src data,nn,...
"""
import os, re, sys, collections
root = sys.argv[1] if len(sys.argv) > 1 else 'src'
order = (sys.argv[2] if len(sys.argv) > 2 else
         'error,rng,files,data,nn,model,metrics,train,models,recommend,eval,store,plot,serve,cli,fuzz_targets').split(',')
edges = collections.defaultdict(lambda: collections.defaultdict(list))
def top_of(path):
    rel = os.path.relpath(path, root)
    first = rel.split(os.sep)[0]
    return first[:-3] if first.endswith('.rs') else first
def brace_names(s, i):
    # s[i] == '{'; return top-level names in the group
    depth, cur, names = 0, '', []
    for ch in s[i:]:
        if ch == '{':
            depth += 1
            if depth == 1: continue
        elif ch == '}':
            depth -= 1
            if depth == 0:
                names.append(cur); break
        if depth == 1 and ch == ',':
            names.append(cur); cur = ''; continue
        if depth >= 1: cur += ch
    out = []
    for n in names:
        n = n.strip()
        m = re.match(r'([A-Za-z_][A-Za-z0-9_]*)', n)
        if m: out.append(m.group(1))
    return out
for dp, dn, fn in os.walk(root):
    for f in fn:
        if not f.endswith('.rs'): continue
        p = os.path.join(dp, f)
        src = top_of(p)
        if src in ('lib', 'main'): continue
        src = {'Error': 'error', 'Result': 'error'}.get(src, src)
        text = open(p).read()
        # test region: from the first '#[cfg(test)]\nmod' on
        m = re.search(r'#\[cfg\(test\)\]\s*(pub(\(crate\))?\s+)?mod\s+\w+\s*\{', text)
        test_start = m.start() if m else len(text)
        for mm in re.finditer(r'crate::', text):
            j = mm.end()
            if text[j] == '{':
                tgts = brace_names(text, j)
            else:
                mt = re.match(r'([A-Za-z_][A-Za-z0-9_]*)', text[j:])
                tgts = [mt.group(1)] if mt else []
            line = text.count('\n', 0, mm.start()) + 1
            ls = text.rfind('\n', 0, mm.start()) + 1
            if text[ls:mm.start()].lstrip().startswith('//'):
                continue  # a doc link or comment, not an import
            for t in tgts:
                t = {'Error': 'error', 'Result': 'error'}.get(t, t)
                if t != src:
                    edges[src][t].append((os.path.relpath(p, root), line, mm.start() >= test_start))
mods = sorted(set(edges) | {t for s in edges for t in edges[s]})
for s in mods:
    for t in sorted(edges[s]):
        refs = edges[s][t]
        nt = sum(1 for r in refs if not r[2])
        print(f"{s} -> {t}: {nt} (+{len(refs)-nt} in tests)")
if order:
    rank = {m: i for i, m in enumerate(order)}
    print("\nBACK EDGES (target ranked above source):")
    bad = 0
    for s in mods:
        for t in edges[s]:
            if s in rank and t in rank and rank[t] > rank[s]:
                bad += 1
                for r in edges[s][t]:
                    print(f"  {s} -> {t}  {r[0]}:{r[1]}{' [test]' if r[2] else ''}")
    print(f"{bad} back edges")
    sys.exit(1 if bad else 0)
