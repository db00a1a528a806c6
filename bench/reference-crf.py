"""Train the reference CRF and tag a CoNLL file: python-crfsuite with the standard features.

usage: python3 reference-crf.py TRAIN.conll DEV.conll OUT_TAGS

The features are the usual crfsuite NER tutorial's (the lowercased word, its last three and two
characters, case and digit flags, and the same for the words either side, with sentence-start and
sentence-end marks), trained by L-BFGS with c1 = c2 = 0.1 for 100 iterations: the setup the README's
reference numbers come from. Writes one predicted label per token line, a blank line between sentences,
and prints the training's CPU seconds as JSON on stdout.
"""
import json
import sys
import time

import pycrfsuite


def read_conll(path):
    sentences, tokens, labels = [], [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                if tokens:
                    sentences.append((tokens, labels))
                tokens, labels = [], []
                continue
            token, label = line.split("\t")[:2]
            if token == "-DOCSTART-":
                continue
            tokens.append(token)
            labels.append(label)
    if tokens:
        sentences.append((tokens, labels))
    return sentences


def word_features(tokens, i):
    w = tokens[i]
    f = [
        "bias",
        "word.lower=" + w.lower(),
        "word[-3:]=" + w[-3:],
        "word[-2:]=" + w[-2:],
        "word.isupper=%s" % w.isupper(),
        "word.istitle=%s" % w.istitle(),
        "word.isdigit=%s" % w.isdigit(),
    ]
    for offset, name in ((-1, "-1"), (1, "+1")):
        j = i + offset
        if 0 <= j < len(tokens):
            v = tokens[j]
            f += [
                name + ":word.lower=" + v.lower(),
                name + ":word.istitle=%s" % v.istitle(),
                name + ":word.isupper=%s" % v.isupper(),
            ]
        else:
            f.append("BOS" if offset < 0 else "EOS")
    return f


def main(train_path, dev_path, out_path):
    start = time.process_time()
    trainer = pycrfsuite.Trainer(verbose=False)
    for tokens, labels in read_conll(train_path):
        trainer.append([word_features(tokens, i) for i in range(len(tokens))], labels)
    trainer.set_params({"c1": 0.1, "c2": 0.1, "max_iterations": 100, "feature.possible_transitions": True})
    model = out_path + ".crfsuite"
    trainer.train(model)
    train_cpu = time.process_time() - start
    tagger = pycrfsuite.Tagger()
    tagger.open(model)
    with open(out_path, "w", encoding="utf-8") as out:
        for tokens, _ in read_conll(dev_path):
            tags = tagger.tag([word_features(tokens, i) for i in range(len(tokens))])
            out.write("".join(t + "\n" for t in tags) + "\n")
    print(json.dumps({"trainCpuSeconds": train_cpu}))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
