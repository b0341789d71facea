"""An IMAP4rev1 mailbox as a stand-in on loopback: the mailbox the reply poll reads.

It speaks RFC 3501 over TCP for what a mail client needs to take mail from one folder:
``CAPABILITY``, ``LOGIN`` (atoms or quoted strings; a wrong password is ``NO
[AUTHENTICATIONFAILED]``), ``SELECT`` (``EXISTS``, ``UIDVALIDITY``, ``UIDNEXT``,
``PERMANENTFLAGS``; an unknown folder is ``NO``), ``UID SEARCH`` (``ALL``, ``SEEN``, ``UNSEEN``,
``DELETED``, ``UNDELETED``, and-ed), ``UID FETCH`` (``UID``, ``FLAGS``, ``RFC822.SIZE``,
``BODY[]`` which sets ``\\Seen``, ``BODY.PEEK[]`` which does not; the message as a literal),
``UID STORE`` (``FLAGS``, ``+FLAGS``, ``-FLAGS``, each ``.SILENT`` or not), ``EXPUNGE``,
``NOOP`` and ``LOGOUT``. Commands other than these, or out of their state, are ``BAD``/``NO``.

With ``tls`` it speaks over TLS from the first byte, as on port 993 (``imaps://``).

The messages live in memory. ``deliver`` puts one in a folder as a delivery agent does (with
``Return-Path`` and ``Delivered-To`` on top); ``stop``/``start`` take the server down and up on
the same port with the same messages; ``drop_on`` closes the connection, without an answer,
the next time a client sends that command (a connection lost mid-poll); ``commands`` is every
command line received, passwords blanked.
"""

from __future__ import annotations

import re
import socketserver
import ssl
import threading
from contextlib import ExitStack
from dataclasses import dataclass, field

from serving import serving

PASSWORD = "s3cret: p@ss"
USER = "replies@demo.example.com"
_TOKEN = re.compile(rb'"((?:[^"\\]|\\.)*)"|\(([^()]*)\)|(\S+)')


@dataclass
class StoredMail:
    uid: int
    raw: bytes
    flags: set[str] = field(default_factory=set)


class ImapStandin:
    """The server's state (folders, messages) and its listening socket on 127.0.0.1."""

    def __init__(self, port: int, tls: ssl.SSLContext | None = None) -> None:
        self.port = port
        self.tls = tls
        self.folders: dict[str, list[StoredMail]] = {"INBOX": []}
        self.next_uid = 1
        self.commands: list[str] = []
        self.dropping: set[str] = set()
        self.lock = threading.Lock()
        self.running = ExitStack()

    def start(self) -> None:
        standin = self

        class Handler(_Session):
            state = standin

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

            def get_request(self):
                connection, address = super().get_request()
                if standin.tls is not None:
                    connection = standin.tls.wrap_socket(connection, server_side=True)
                return connection, address

        self.running.enter_context(serving(Server(("127.0.0.1", self.port), Handler)))

    def stop(self) -> None:
        self.running.close()

    def deliver(
        self, raw: bytes, delivered_to: str, return_path: str, folder: str = "INBOX"
    ) -> int:
        """Put a mail in a folder as the mail server's delivery agent does; its UID."""
        on_top = f"Return-Path: <{return_path}>\r\nDelivered-To: {delivered_to}\r\n".encode()
        with self.lock:
            uid, self.next_uid = self.next_uid, self.next_uid + 1
            self.folders[folder].append(StoredMail(uid, on_top + _crlf(raw)))
        return uid

    def drop_on(self, command: str) -> None:
        self.dropping.add(command.upper())

    def mails(self, folder: str = "INBOX") -> list[StoredMail]:
        with self.lock:
            return list(self.folders[folder])


def _crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class _Session(socketserver.StreamRequestHandler):
    state: ImapStandin

    def handle(self) -> None:
        self.user: str | None = None
        self.folder: str | None = None
        self.send(b"* OK IMAP4rev1 stand-in ready")
        while line := self.rfile.readline():
            tag, _, rest = line.rstrip(b"\r\n").partition(b" ")
            words = [self._word(m) for m in _TOKEN.finditer(rest)]
            if not words:
                self.send(tag + b" BAD no command")
                continue
            command = words[0].upper()
            if command == "UID" and len(words) > 1:
                command, words = "UID " + words[1].upper(), words[1:]
            self.state.commands.append(command if command == "LOGIN" else rest.decode())
            if command in self.state.dropping:
                self.state.dropping.discard(command)
                return
            if not self.answer(tag, command, words[1:]):
                return

    @staticmethod
    def _word(match: re.Match[bytes]) -> str:
        quoted, listed, atom = match.groups()
        if quoted is not None:
            return re.sub(r"\\(.)", r"\1", quoted.decode())
        return f"({listed.decode()})" if listed is not None else atom.decode()

    def send(self, line: bytes) -> None:
        self.wfile.write(line + b"\r\n")

    def answer(self, tag: bytes, command: str, args: list[str]) -> bool:
        """Answer one command; False once the session is over."""
        if command == "LOGOUT":
            self.send(b"* BYE logging out")
            self.send(tag + b" OK LOGOUT completed")
            return False
        refusal = self.run(command, args)
        self.send(tag + b" " + (refusal or b"OK " + command.encode() + b" completed"))
        return True

    def run(self, command: str, args: list[str]) -> bytes | None:
        """Carry out a command, its untagged answers sent; or why it is refused."""
        if command == "CAPABILITY":
            self.send(b"* CAPABILITY IMAP4rev1")
            return None
        if command == "NOOP":
            return None
        if command == "LOGIN":
            return self.login(args)
        if self.user is None:
            return b"NO log in first"
        if command == "SELECT":
            return self.select(args[0])
        if self.folder is None:
            return b"BAD select a folder first"
        handlers = {
            "UID SEARCH": lambda: self.search(args),
            "UID FETCH": lambda: self.fetch(args[0], args[1]),
            "UID STORE": lambda: self.store(args[0], args[1], args[2]),
            "EXPUNGE": self.expunge,
        }
        if command not in handlers:
            return b"BAD unknown command"
        handlers[command]()
        return None

    def login(self, args: list[str]) -> bytes | None:
        if args[:2] != [USER, PASSWORD]:
            return b"NO [AUTHENTICATIONFAILED] Invalid credentials"
        self.user = USER
        return None

    def mails(self) -> list[StoredMail]:
        assert self.folder is not None
        return self.state.folders[self.folder]

    def select(self, folder: str) -> bytes | None:
        if folder not in self.state.folders:
            return b"NO no such folder"
        self.folder = folder
        self.send(b"* FLAGS (\\Seen \\Deleted \\Flagged \\Answered \\Draft)")
        self.send(b"* OK [PERMANENTFLAGS (\\Seen \\Deleted \\Flagged \\Answered \\Draft)] ok")
        self.send(b"* %d EXISTS" % len(self.mails()))
        self.send(b"* 0 RECENT")
        self.send(b"* OK [UIDVALIDITY 1] ok")
        self.send(b"* OK [UIDNEXT %d] ok" % self.state.next_uid)
        return None

    def search(self, criteria: list[str]) -> None:
        tests = {
            "ALL": lambda mail: True,
            "SEEN": lambda mail: "\\Seen" in mail.flags,
            "UNSEEN": lambda mail: "\\Seen" not in mail.flags,
            "DELETED": lambda mail: "\\Deleted" in mail.flags,
            "UNDELETED": lambda mail: "\\Deleted" not in mail.flags,
        }
        with self.state.lock:
            found = [
                mail.uid
                for mail in self.mails()
                if all(tests[word.upper()](mail) for word in criteria)
            ]
        self.send(b" ".join([b"* SEARCH", *(str(uid).encode() for uid in found)]))

    def chosen(self, uid_set: str) -> list[tuple[int, StoredMail]]:
        """The mails a UID set names, with their sequence numbers."""
        wanted: set[int] = set()
        for part in uid_set.split(","):
            low, _, high = part.partition(":")
            top = self.state.next_uid if high == "*" else int(high or low)
            wanted.update(range(int(low), top + 1))
        return [(n, mail) for n, mail in enumerate(self.mails(), start=1) if mail.uid in wanted]

    def fetch(self, uid_set: str, items: str) -> None:
        names = items.strip("()").upper().split()
        with self.state.lock:
            for number, mail in self.chosen(uid_set):
                parts = [b"UID %d" % mail.uid]
                literal = b""
                if "BODY[]" in names:
                    mail.flags.add("\\Seen")
                if "FLAGS" in names:
                    parts.append(b"FLAGS (%s)" % " ".join(sorted(mail.flags)).encode())
                if "RFC822.SIZE" in names:
                    parts.append(b"RFC822.SIZE %d" % len(mail.raw))
                if "BODY[]" in names or "BODY.PEEK[]" in names:
                    parts.append(b"BODY[] {%d}" % len(mail.raw))
                    literal = mail.raw
                head = b"* %d FETCH (" % number + b" ".join(parts)
                if literal:
                    self.wfile.write(head + b"\r\n" + literal + b")\r\n")
                else:
                    self.send(head + b")")

    def store(self, uid_set: str, how: str, flag_list: str) -> None:
        flags = set(flag_list.strip("()").split())
        how = how.upper()
        with self.state.lock:
            for number, mail in self.chosen(uid_set):
                if how.startswith("+"):
                    mail.flags |= flags
                elif how.startswith("-"):
                    mail.flags -= flags
                else:
                    mail.flags = set(flags)
                if not how.endswith(".SILENT"):
                    shown = " ".join(sorted(mail.flags)).encode()
                    self.send(b"* %d FETCH (UID %d FLAGS (%s))" % (number, mail.uid, shown))

    def expunge(self) -> None:
        with self.state.lock:
            mails = self.mails()
            for number in range(len(mails), 0, -1):
                if "\\Deleted" in mails[number - 1].flags:
                    del mails[number - 1]
                    self.send(b"* %d EXPUNGE" % number)
