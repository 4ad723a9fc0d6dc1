//! Placeholder: the cipher-suite registry (being written).

/// Everything known about one IANA-assigned cipher suite.
#[derive(Debug)]
pub struct SuiteInfo {
    pub code: u16,
    pub iana: &'static str,
    pub openssl: Option<&'static str>,
}

pub fn lookup(_code: u16) -> Option<&'static SuiteInfo> {
    None
}
