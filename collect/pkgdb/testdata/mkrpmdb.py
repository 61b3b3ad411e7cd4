# Makes rpmdb.sqlite: rpm's sqlite schema with two package headers built
# by hand (one large enough to spill into overflow pages). Run:
#   python3 mkrpmdb.py   (kept so the fixture can be rebuilt and read)
import sqlite3, struct, hashlib, os

def header(tags):
    # tags: list of (tag, type, value); type 6 string, 8 string array, 4 int32 array, 3 int16 array
    index, data = b"", b""
    for tag, typ, val in sorted(tags):
        if typ in (4,):
            while len(data) % 4: data += b"\0"
        if typ in (3,):
            while len(data) % 2: data += b"\0"
        off = len(data)
        if typ == 6:
            data += val.encode() + b"\0"; count = 1
        elif typ == 8:
            for s in val: data += s.encode() + b"\0"
            count = len(val)
        elif typ == 4:
            for v in val: data += struct.pack(">i", v)
            count = len(val)
        elif typ == 3:
            for v in val: data += struct.pack(">H", v)
            count = len(val)
        index += struct.pack(">IIII", tag, typ, off, count)
    return struct.pack(">II", len(tags), len(data)) + index + data

sshd = b"sshd as shipped\n"
pam = b"pam_unix as shipped\n"
h1 = header([
    (1000, 6, "openssh-server"), (1001, 6, "8.7p1"), (1002, 6, "38.el9"), (1022, 6, "x86_64"),
    (1117, 8, ["sshd", "pam_unix.so", "ssh"]), (1118, 8, ["/usr/sbin/", "/usr/lib64/security/", "/etc/"]),
    (1116, 4, [0, 1, 2]), (5011, 4, [8]),
    (1035, 8, [hashlib.sha256(sshd).hexdigest(), hashlib.sha256(pam).hexdigest(), ""]),
    (1030, 3, [0o100755, 0o100755, 0o40755]),
    (1044, 6, "openssh-8.7p1-38.el9.src.rpm"),
])
h2 = header([
    (1000, 6, "big"), (1001, 6, "1"), (1002, 6, "1"), (1022, 6, "noarch"), (1003, 4, [2]),
    (1005, 6, "x" * 20000),  # a long description: the row spills into overflow pages
])
if os.path.exists("rpmdb.sqlite"): os.remove("rpmdb.sqlite")
db = sqlite3.connect("rpmdb.sqlite")
db.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)")
db.execute("CREATE TABLE Name (key TEXT NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL)")
db.execute("INSERT INTO Packages (blob) VALUES (?)", (h1,))
db.execute("INSERT INTO Packages (blob) VALUES (?)", (h2,))
db.commit(); db.close()
