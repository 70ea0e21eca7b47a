"""Harbour Supplies: a second office database, designed here to check that question-to-SQL
does not fit Chinook's names. A wholesaler's SQLite file as an older application left it:
snake_case and terse names, a table named with a space, a view, foreign keys, and the text
written in cp1252 (not UTF-8). The rows are drawn from a fixed seed, so every build is the
same file and the questions' gold results (harbour_questions.jsonl) hold.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import date, timedelta
from pathlib import Path

OFFICES = [(1, "Århus", "Denmark"), (2, "Hamburg", "Germany"), (3, "Malmö", "Sweden"), (4, "Lyon", "France")]
STAFF = [
    (1, "Søren", "Kjærgaard", "Managing Director", 1, "2011-03-01", 7400.0),
    (2, "Jürgen", "Weiß", "Account Manager", 2, "2014-09-15", 5200.0),
    (3, "Åsa", "Lindqvist", "Account Manager", 3, "2016-01-04", 5100.0),
    (4, "Hélène", "Moreau", "Account Manager", 4, "2017-06-12", 5000.0),
    (5, "Mette", "Østergaard", "Account Manager", 1, "2019-02-01", 4900.0),
    (6, "Björn", "Nyström", "Warehouse Lead", 3, "2015-11-23", 4100.0),
    (7, "François", "Lefèvre", "Bookkeeper", 4, "2018-04-30", 4300.0),
    (8, "Günther", "Schäfer", "Driver", 2, "2020-08-17", 3300.0),
]
TOWNS = {
    "Denmark": ["Århus", "København", "Ålborg", "Næstved"],
    "Germany": ["Hamburg", "Köln", "München", "Lübeck"],
    "Sweden": ["Malmö", "Göteborg", "Västerås", "Linköping"],
    "France": ["Lyon", "Besançon", "Orléans", "Nîmes"],
}
MANAGERS = {"Denmark": 5, "Germany": 2, "Sweden": 3, "France": 4}
COMPANY_WORDS = ["Fiskeri", "Bäckerei", "Café", "Möbel", "Épicerie", "Værft", "Brød", "Kühlhaus", "Ångbåt",
                 "Hôtel", "Smørrebrød", "Glasbruk", "Tischlerei", "Crèmerie", "Sjöfart", "Ølbryggeri"]  # fmt: skip
SUFFIX = {"Denmark": "ApS", "Germany": "GmbH", "Sweden": "AB", "France": "SARL"}
LINES = [
    (1, "Rope & Rigging"), (2, "Paints"), (3, "Safety Gear"), (4, "Deck Hardware"), (5, "Galley"), (6, "Navigation"),
]  # fmt: skip
PRODUCTS = {
    1: ["Mooring line 12 mm", "Mooring line 16 mm", "Shackle kit", "Halyard 8 mm", "Dyneema sling", "Snap hook"],
    2: ["Antifouling red", "Antifouling blue", "Teak oil", "Varnish gloss", "Primer grey", "Bilge paint"],
    3: ["Life jacket", "Flare pack", "Fire extinguisher", "First aid box", "Lifebuoy", "Safety harness"],
    4: ["Cleat steel", "Winch handle", "Deck fill", "Hinge bronze", "Fairlead", "Pad eye"],
    5: ["Gas stove", "Kettle enamel", "Galley knife set", "Coffee press", "Mug set", "Cool box"],
    6: ["Hand compass", "Chart Øresund", "Chart Kieler Bucht", "Binoculars 7x50", "Barometer brass", "Tide clock"],
}
STATUSES = ["shipped", "shipped", "shipped", "delivered", "delivered", "open", "cancelled"]


def build(path: Path) -> Path:
    """Write the database at ``path`` (replacing it) and return the path."""
    path.unlink(missing_ok=True)
    rng = random.Random(1997)
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE offices (office_no INTEGER PRIMARY KEY, town TEXT, nation TEXT);
        CREATE TABLE staff (staff_no INTEGER PRIMARY KEY, first_name TEXT, surname TEXT, job_title TEXT,
            office_no INTEGER REFERENCES offices(office_no), start_date DATE, monthly_salary REAL);
        CREATE TABLE clients (client_no INTEGER PRIMARY KEY, company TEXT, town TEXT, nation TEXT,
            staff_no INTEGER REFERENCES staff(staff_no), client_since DATE);
        CREATE TABLE "Product Lines" (line_no INTEGER PRIMARY KEY, line_label TEXT);
        CREATE TABLE products (product_no INTEGER PRIMARY KEY, product_name TEXT,
            line_no INTEGER REFERENCES "Product Lines"(line_no), list_price REAL, in_stock INTEGER);
        CREATE TABLE orders (order_no INTEGER PRIMARY KEY, client_no INTEGER REFERENCES clients(client_no),
            order_date DATE, status TEXT, ship_nation TEXT);
        CREATE TABLE order_lines (order_no INTEGER REFERENCES orders(order_no),
            product_no INTEGER REFERENCES products(product_no), qty INTEGER, price REAL);
        CREATE VIEW open_orders AS SELECT * FROM orders WHERE status = 'open';
        """
    )

    def text(value: str) -> bytes:
        return value.encode("cp1252")  # what the old application stored

    for office in OFFICES:
        db.execute("INSERT INTO offices VALUES (?, CAST(? AS TEXT), ?)", (office[0], text(office[1]), office[2]))
    for s in STAFF:
        db.execute(
            "INSERT INTO staff VALUES (?, CAST(? AS TEXT), CAST(? AS TEXT), ?, ?, ?, ?)",
            (s[0], text(s[1]), text(s[2]), *s[3:]),
        )
    clients = []
    used: set[str] = set()
    for n in range(1, 33):
        nation = list(TOWNS)[n % 4]
        town = rng.choice(TOWNS[nation])
        while True:
            company = f"{rng.choice(COMPANY_WORDS)} {town} {SUFFIX[nation]}"
            if company not in used:
                break
            town = rng.choice(TOWNS[nation])
        used.add(company)
        since = date(2012, 1, 1) + timedelta(days=rng.randrange(3600))
        clients.append((n, nation))
        db.execute(
            "INSERT INTO clients VALUES (?, CAST(? AS TEXT), CAST(? AS TEXT), ?, ?, ?)",
            (n, text(company), text(town), nation, MANAGERS[nation], since.isoformat()),
        )
    db.executemany('INSERT INTO "Product Lines" VALUES (?, ?)', LINES)
    products: list[tuple[int, float]] = []
    for line, names in PRODUCTS.items():
        for name in names:
            number = len(products) + 1
            price = round(rng.uniform(4, 400), 2)
            products.append((number, price))
            db.execute(
                "INSERT INTO products VALUES (?, CAST(? AS TEXT), ?, ?, ?)",
                (number, text(name), line, price, rng.choice([0, 3, 12, 40, 120])),
            )
    for order in range(1, 361):
        client, nation = rng.choice(clients)
        day = date(2019, 1, 1) + timedelta(days=rng.randrange(6 * 365))
        ship = nation if rng.random() < 0.85 else rng.choice(["Norway", "Netherlands", "Poland", *TOWNS])
        db.execute(
            "INSERT INTO orders VALUES (?, ?, ?, ?, ?)", (order, client, day.isoformat(), rng.choice(STATUSES), ship)
        )
        for product, price in rng.sample(products, rng.randint(1, 4)):
            db.execute("INSERT INTO order_lines VALUES (?, ?, ?, ?)", (order, product, rng.randint(1, 20), price))
    db.commit()
    db.close()
    return path
