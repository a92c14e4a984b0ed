"""A small private CA for the MQTT layer in tests: the broker's certificate and one client
certificate per node (DESIGN §7), as `tests/integration/test_mqtt_tls.py` needs them.
A real deployment issues the same certificates with `deploy/cloud/make-certs.sh`.

This is the transport identity, not the op-signing identity (`sync_protocol/signing.py`):
the broker checks the client certificate and takes its Common Name as the MQTT username
(Mosquitto's ``use_identity_as_username``), so a node's CN must be its node id and the
broker's ACL can then confine each node to ``sf/+/node/<its id>/…``. See docs/security.md.

    ca = CertificateAuthority.create("Shopfloor CA (acme)")
    ca.save(Path("ca.crt"), Path("ca.key"))                # the CA key stays offline
    ca.issue_server(["mqtt.example.com"]).save(Path("broker.crt"), Path("broker.key"))
    ca.issue_node("store-1").save(Path("node.crt"), Path("node.key"))
    ca.issue_hub().save(Path("hub.crt"), Path("hub.key"))

Keys are ECDSA P-256: every TLS stack a node or broker uses speaks it (TLS 1.2 and 1.3),
unlike Ed25519 certificates. Validity starts a day early because a Raspberry Pi has no
real-time clock and may boot with a clock that lags until NTP answers.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sync_protocol.errors import ConfigurationError
from sync_protocol.files import write_atomically, write_secret

#: The CN (hence the MQTT username) of the hub's own client certificate.
HUB_IDENTITY = "hub"
#: Names no node may carry: the hub's MQTT identity and the hub's op origin (`cloud`).
RESERVED_IDENTITIES = frozenset({HUB_IDENTITY, "cloud"})
#: What a node id may look like (same rule as `edge.settings.NODE_ID`). Never `+` or `#`:
#: under pattern ACLs Mosquitto denies such a username everything. Never `/`: it would put
#: the node elsewhere in the topic tree.
IDENTITY = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")

CA_VALID_DAYS = 10 * 365
LEAF_VALID_DAYS = 2 * 365
CLOCK_SKEW = dt.timedelta(days=1)
LOCAL_HOSTS = ("127.0.0.1", "localhost")


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _now(now: dt.datetime | None) -> dt.datetime:
    return now if now is not None else dt.datetime.now(dt.UTC)


def _check_identity(name: str) -> None:
    if not IDENTITY.match(name):
        raise ConfigurationError(
            f"{name!r} cannot be a certificate identity: use lowercase letters, digits "
            "and '-' (it becomes the MQTT username and is matched in the broker's ACL)",
            message_zh="证书身份只能包含小写字母、数字和“-”",
        )


@dataclass(frozen=True)
class CertifiedKey:
    """A certificate and its private key."""

    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey

    @property
    def common_name(self) -> str:
        return common_name_of(self.certificate)

    @property
    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def private_key_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def save(self, cert_path: Path, key_path: Path) -> None:
        """Write both as PEM; the key readable by its owner only (0600)."""
        for path in (key_path, cert_path):
            path.parent.mkdir(parents=True, exist_ok=True)
        write_secret(key_path, self.private_key_pem)
        write_atomically(cert_path, self.certificate_pem)

    @classmethod
    def load(cls, cert_path: Path, key_path: Path) -> CertifiedKey:
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ConfigurationError(
                f"{key_path} is not an EC private key",
                message_zh=f"{key_path} 不是 EC 私钥",
            )
        if key.public_key().public_numbers() != _ec_public(certificate).public_numbers():
            raise ConfigurationError(
                f"{key_path} is not the key of {cert_path}",
                message_zh=f"{key_path} 与证书 {cert_path} 不匹配",
            )
        return cls(certificate, key)


def _ec_public(certificate: x509.Certificate) -> ec.EllipticCurvePublicKey:
    public = certificate.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise ConfigurationError(
            "the certificate does not hold an EC public key",
            message_zh="证书中的公钥不是 EC 公钥",
        )
    return public


def common_name_of(certificate: x509.Certificate) -> str:
    """The subject's CN: what the broker uses as the MQTT username."""
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names:
        raise ConfigurationError(
            "the certificate has no Common Name", message_zh="证书缺少通用名称（CN）"
        )
    value = names[0].value
    return value if isinstance(value, str) else value.decode("utf-8")


class CertificateAuthority:
    """A private CA that signs the broker's and every node's certificate.

    Keep its key off the nodes and off the broker: they need only the CA *certificate*
    (``certificate_pem``) to check each other.
    """

    def __init__(self, signer: CertifiedKey) -> None:
        try:
            is_ca = signer.certificate.extensions.get_extension_for_class(
                x509.BasicConstraints
            ).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        if not is_ca:
            raise ConfigurationError(
                f"{signer.common_name!r} is not a CA certificate",
                message_zh="该证书不是 CA 证书",
            )
        self.signer = signer

    @classmethod
    def create(
        cls,
        name: str = "Shopfloor CA",
        *,
        valid_days: int = CA_VALID_DAYS,
        now: dt.datetime | None = None,
    ) -> CertificateAuthority:
        key = _new_key()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        start = _now(now) - CLOCK_SKEW
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=valid_days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        return cls(CertifiedKey(certificate, key))

    @classmethod
    def load(cls, cert_path: Path, key_path: Path) -> CertificateAuthority:
        return cls(CertifiedKey.load(cert_path, key_path))

    def save(self, cert_path: Path, key_path: Path) -> None:
        self.signer.save(cert_path, key_path)

    @property
    def certificate(self) -> x509.Certificate:
        return self.signer.certificate

    @property
    def certificate_pem(self) -> bytes:
        """What brokers and nodes are given to check certificates this CA issued."""
        return self.signer.certificate_pem

    def issue_server(
        self,
        hosts: Sequence[str] = LOCAL_HOSTS,
        *,
        valid_days: int = LEAF_VALID_DAYS,
        now: dt.datetime | None = None,
    ) -> CertifiedKey:
        """The broker's certificate, valid for each of ``hosts`` (IP addresses or DNS names).

        Clients check the host they dial against these names, so list every name and
        address nodes use to reach the broker.
        """
        if not hosts:
            raise ValueError("a server certificate needs at least one host name or address")
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        return self._issue(
            hosts[0],
            ExtendedKeyUsageOID.SERVER_AUTH,
            san=x509.SubjectAlternativeName(names),
            valid_days=valid_days,
            now=now,
        )

    def issue_client(
        self,
        identity: str,
        *,
        valid_days: int = LEAF_VALID_DAYS,
        now: dt.datetime | None = None,
    ) -> CertifiedKey:
        """A client certificate whose CN is ``identity``, the MQTT username it gets."""
        _check_identity(identity)
        return self._issue(
            identity, ExtendedKeyUsageOID.CLIENT_AUTH, san=None, valid_days=valid_days, now=now
        )

    def issue_node(
        self,
        node_id: str,
        *,
        valid_days: int = LEAF_VALID_DAYS,
        now: dt.datetime | None = None,
    ) -> CertifiedKey:
        """A node's client certificate: CN = node id. Reserved names are refused, since
        a node called ``hub`` would get the hub's rights at the broker."""
        if node_id in RESERVED_IDENTITIES:
            raise ConfigurationError(
                f"{node_id!r} is reserved for the hub and cannot be a node id",
                message_zh=f"“{node_id}”是中心保留名称，不能用作节点编号",
            )
        return self.issue_client(node_id, valid_days=valid_days, now=now)

    def issue_hub(
        self, *, valid_days: int = LEAF_VALID_DAYS, now: dt.datetime | None = None
    ) -> CertifiedKey:
        """The hub's client certificate (CN ``hub``), for a hub that reaches the broker
        over TLS rather than on the broker's loopback listener."""
        return self.issue_client(HUB_IDENTITY, valid_days=valid_days, now=now)

    def _issue(
        self,
        cn: str,
        usage: x509.ObjectIdentifier,
        *,
        san: x509.SubjectAlternativeName | None,
        valid_days: int,
        now: dt.datetime | None,
    ) -> CertifiedKey:
        key = _new_key()
        start = _now(now) - CLOCK_SKEW
        ca_public = _ec_public(self.certificate)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(
                min(start + dt.timedelta(days=valid_days), self.certificate.not_valid_after_utc)
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public), critical=False
            )
        )
        if san is not None:
            builder = builder.add_extension(san, critical=False)
        certificate = builder.sign(self.signer.private_key, hashes.SHA256())
        return CertifiedKey(certificate, key)
