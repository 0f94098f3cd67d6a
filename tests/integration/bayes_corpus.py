"""Synthetic training mail for the Bayes integration tests: two vocabularies
(spam-ish, ham-ish) over a shared one, so the classes separate but overlap."""
import random
from pathlib import Path

SPAM = ("viagra cheap offer winner prize casino pills discount unsubscribe guaranteed money credit "
        "loan mortgage refinance lottery bonus free click limited urgent millions investment").split()
HAM = ("meeting patch review build release branch kernel compiler schedule agenda minutes notes "
       "lunch project parser regression benchmark deploy config lecture seminar thesis").split()
COMMON = "the and for with this that you your from have will are our can all new".split()


def message(spam, seed):
    r = random.Random(seed)
    vocab = SPAM if spam else HAM
    words = [r.choice(vocab if r.random() < 0.5 else COMMON) for _ in range(r.randint(30, 80))]
    subject = " ".join(r.choice(vocab) for _ in range(3))
    sender = "promo@deals.example" if spam else "colleague@work.example"
    return (f"From: {sender}\r\nTo: alice@localhost\r\nSubject: {subject}\r\n"
            f"Message-ID: <{seed}@{'deals' if spam else 'work'}.example>\r\n\r\n" + " ".join(words) + "\r\n")


def write_corpus(root, n_spam, n_ham, seed=0):
    root = Path(root)
    (root / "spam").mkdir(parents=True, exist_ok=True)
    (root / "ham").mkdir(parents=True, exist_ok=True)
    for i in range(n_spam):
        (root / "spam" / f"{i:06d}.eml").write_text(message(True, seed * 1000003 + i))
    for i in range(n_ham):
        (root / "ham" / f"{i:06d}.eml").write_text(message(False, seed * 1000003 + 500000 + i))
    return root / "spam", root / "ham"
