"""CertSync host side: the embedded CA, customers, certificate status and renewal, relay, audit."""
