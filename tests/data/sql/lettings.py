"""Westshore Lettings: a third office database, written after the rules were built on Chinook
and Harbour Supplies and never used to change them: the held-out check of question-to-SQL.
A letting agency's SQLite file: PascalCase and spaced names ("Rent Payments", "Monthly
Rent", "First Name"), foreign keys, several date columns in one table, and names in
Latin-1 (not UTF-8). Rows from a fixed seed; gold results in lettings_questions.jsonl.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import date, timedelta
from pathlib import Path

LANDLORDS = [
    (1, "Pádraig Ó Súilleabháin", "+353 91 555 0101", "Galway"),
    (2, "Máire Nic Giolla", "+353 21 555 0102", "Cork"),
    (3, "Hélène Ferrand", "+353 61 555 0103", "Limerick"),
    (4, "Conor Walsh", "+353 71 555 0104", "Sligo"),
    (5, "Siobhán Ní Bhriain", "+353 1 555 0105", "Dún Laoghaire"),
    (6, "Tomás Breathnach", "+353 91 555 0106", "Galway"),
]
TOWNS = ["Galway", "Cork", "Limerick", "Sligo", "Dún Laoghaire"]
STREETS = ["Quay Street", "Sráid na Siopaí", "Harbour Road", "Bóthar na Trá", "Mill Lane", "Church Hill",
           "Fairgreen", "Castle View", "Céide an Chuain", "Station Road"]  # fmt: skip
FIRST = ["Aoife", "Seán", "Niamh", "Ciarán", "Róisín", "Eoin", "Sinéad", "Darragh", "Caoimhe", "Oisín",
         "Órla", "Fionn", "Clodagh", "Pól", "Gráinne", "Liam"]  # fmt: skip
LAST = ["Ó Briain", "Mac Cárthaigh", "Kelly", "Ní Mháille", "Byrne", "Ó Néill", "Doyle", "Ryan", "Ó Ceallaigh",
        "Nolan", "Fitzgerald", "de Búrca"]  # fmt: skip
CONTRACTORS = [(1, "Quayside Plumbing Ltd", "Plumbing"), (2, "Spark Éire", "Electrical"),
               (3, "Atlantic Roofing", "Roofing"), (4, "Ó Dálaigh Joinery", "Carpentry"),
               (5, "Fresh Coat Painters", "Painting")]  # fmt: skip
REPAIRS = ["Leaking tap", "Boiler service", "Broken window latch", "Roof slates", "Fuse board", "Damp patch",
           "Door hinge", "Gutter clearing", "Shower seal", "Smoke alarm"]  # fmt: skip


def build(path: Path) -> Path:
    """Write the database at ``path`` (replacing it) and return the path."""
    path.unlink(missing_ok=True)
    rng = random.Random(2024)
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE Landlords (LandlordID INTEGER PRIMARY KEY, FullName TEXT, Phone TEXT, City TEXT);
        CREATE TABLE Properties (PropertyID INTEGER PRIMARY KEY, Address TEXT, Town TEXT, Bedrooms INTEGER,
            "Monthly Rent" REAL, LandlordID INTEGER REFERENCES Landlords(LandlordID));
        CREATE TABLE Tenants (TenantID INTEGER PRIMARY KEY, "First Name" TEXT, "Last Name" TEXT, Email TEXT,
            DateOfBirth DATE);
        CREATE TABLE Leases (LeaseID INTEGER PRIMARY KEY, PropertyID INTEGER REFERENCES Properties(PropertyID),
            TenantID INTEGER REFERENCES Tenants(TenantID), StartDate DATE, EndDate DATE, Deposit REAL);
        CREATE TABLE "Rent Payments" (PaymentID INTEGER PRIMARY KEY, LeaseID INTEGER REFERENCES Leases(LeaseID),
            PaidOn DATE, Amount REAL, Method TEXT);
        CREATE TABLE Contractors (ContractorID INTEGER PRIMARY KEY, CompanyName TEXT, Trade TEXT);
        CREATE TABLE Repairs (RepairID INTEGER PRIMARY KEY, PropertyID INTEGER REFERENCES Properties(PropertyID),
            ContractorID INTEGER REFERENCES Contractors(ContractorID), ReportedOn DATE, Cost REAL, Status TEXT,
            Description TEXT);
        """
    )

    def latin1(value: str) -> bytes:
        return value.encode("latin-1")  # as the agency's old program stored it

    for landlord in LANDLORDS:
        db.execute("INSERT INTO Landlords VALUES (?, CAST(? AS TEXT), ?, CAST(? AS TEXT))",
                   (landlord[0], latin1(landlord[1]), landlord[2], latin1(landlord[3])))  # fmt: skip
    properties = []
    for n in range(1, 26):
        town = TOWNS[(n * 7) % 5] if n % 6 else "Galway"
        address = f"{rng.randint(1, 90)} {rng.choice(STREETS)}, {town}"
        rent = round(rng.uniform(900, 2600), 0)
        properties.append((n, rent))
        db.execute("INSERT INTO Properties VALUES (?, CAST(? AS TEXT), CAST(? AS TEXT), ?, ?, ?)",
                   (n, latin1(address), latin1(town), rng.choice([1, 2, 2, 3, 3, 4]), rent,
                    LANDLORDS[n % 6][0]))  # fmt: skip
    for n in range(1, 31):
        first, last = FIRST[n % len(FIRST)], LAST[(n * 5) % len(LAST)]
        born = date(1960, 1, 1) + timedelta(days=rng.randrange(14000))
        email = f"{first[0].lower()}.{n}@example.ie"
        db.execute("INSERT INTO Tenants VALUES (?, CAST(? AS TEXT), CAST(? AS TEXT), ?, ?)",
                   (n, latin1(first), latin1(last), email, born.isoformat()))  # fmt: skip
    payment = 0
    for lease in range(1, 36):
        prop, rent = properties[(lease * 3) % 25]
        start = date(2019, 1, 1) + timedelta(days=rng.randrange(6 * 365))
        months = rng.randint(3, 18)
        end = start + timedelta(days=30 * months)
        db.execute("INSERT INTO Leases VALUES (?, ?, ?, ?, ?, ?)",
                   (lease, prop, (lease * 7) % 30 + 1, start.isoformat(), end.isoformat(), rent * 1.5))  # fmt: skip
        for month in range(months):
            payment += 1
            paid = start + timedelta(days=30 * month + rng.randint(0, 4))
            db.execute(
                'INSERT INTO "Rent Payments" VALUES (?, ?, ?, ?, ?)',
                (payment, lease, paid.isoformat(), rent, rng.choice(["Card", "Transfer", "Transfer", "Cash"])),
            )
    db.executemany("INSERT INTO Contractors VALUES (?, ?, ?)", [(c[0], c[1], c[2]) for c in CONTRACTORS])
    for n in range(1, 61):
        reported = date(2019, 3, 1) + timedelta(days=rng.randrange(2400))
        db.execute("INSERT INTO Repairs VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (n, rng.randint(1, 25), rng.randint(1, 5), reported.isoformat(), round(rng.uniform(40, 3000), 2),
                    rng.choice(["Open", "Done", "Done", "Done", "Cancelled"]), rng.choice(REPAIRS)))  # fmt: skip
    db.commit()
    db.close()
    return path
