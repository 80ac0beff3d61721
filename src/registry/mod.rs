//! The OCI distribution client: auth, pull, push.
