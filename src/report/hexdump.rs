//! Offset / hex / ASCII dumps of raw bytes, shown by the text report at
//! `-vv`, in the layout of `hexdump -C` and Go's recorded flows: an
//! eight-digit offset, sixteen bytes in two groups of eight, and the
//! printable ASCII between bars.
//!
//! Returns lines; indentation and colour are the caller's business.

/// The dump of `bytes`, one string per line of sixteen bytes, offsets
/// counted from `base`.
pub fn lines(bytes: &[u8], base: usize) -> Vec<String> {
    bytes
        .chunks(16)
        .enumerate()
        .map(|(i, chunk)| line(chunk, base + i * 16))
        .collect()
}

fn line(chunk: &[u8], offset: usize) -> String {
    let mut hex = String::with_capacity(49);
    for i in 0..16 {
        if i == 8 {
            hex.push(' ');
        }
        match chunk.get(i) {
            Some(b) => hex.push_str(&format!("{b:02x} ")),
            None => hex.push_str("   "),
        }
    }
    let ascii: String = chunk
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    format!("{offset:08x}  {hex} |{ascii}|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_and_partial_lines() {
        let bytes: Vec<u8> = (0x41..0x41 + 20).collect();
        let l = lines(&bytes, 0);
        assert_eq!(l.len(), 2);
        assert_eq!(
            l[0],
            "00000000  41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50  |ABCDEFGHIJKLMNOP|"
        );
        assert_eq!(
            l[1],
            "00000010  51 52 53 54                                       |QRST|"
        );
    }

    #[test]
    fn unprintable_bytes_are_dots() {
        assert_eq!(
            lines(&[0x16, 0x03, 0x01, 0x20], 0x100)[0],
            "00000100  16 03 01 20                                       |... |"
        );
        assert!(lines(&[], 0).is_empty());
    }
}
