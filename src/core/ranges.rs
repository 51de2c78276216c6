//! Sets of sequence numbers as sorted, merged `[first, last]` ranges: what
//! control records announce as possibly missing (SPEC §5, §6.3) and what
//! the verifier reports as missing.

/// A closed range of sequence numbers, `[first, last]`.
pub type SeqRange = [u64; 2];

/// Sorts ranges and merges the ones that overlap or touch.
pub fn normalize(mut ranges: Vec<SeqRange>) -> Vec<SeqRange> {
    ranges.sort_unstable();
    let mut out: Vec<SeqRange> = Vec::with_capacity(ranges.len());
    for [a, b] in ranges {
        match out.last_mut() {
            Some(last) if a <= last[1].saturating_add(1) => last[1] = last[1].max(b),
            _ => out.push([a, b]),
        }
    }
    out
}

/// Adds `[first, last]` to a set of ranges, keeping it sorted and merged.
pub fn add_range(ranges: &mut Vec<SeqRange>, r: SeqRange) {
    ranges.push(r);
    *ranges = normalize(std::mem::take(ranges));
}

/// The numbers of `ranges` that are not in `remove`.
pub fn subtract(ranges: &[SeqRange], remove: &[SeqRange]) -> Vec<SeqRange> {
    let remove = normalize(remove.to_vec());
    let mut out = Vec::new();
    for &[a, b] in ranges {
        let mut from = a;
        for &[x, y] in &remove {
            if y < from || x > b {
                continue;
            }
            if x > from {
                out.push([from, x - 1]);
            }
            from = y.saturating_add(1);
            if from > b {
                break;
            }
        }
        if from <= b {
            out.push([from, b]);
        }
    }
    out
}

/// Whether every number of `r` lies in the union of `ranges`.
pub fn covered(r: SeqRange, ranges: &[SeqRange]) -> bool {
    subtract(&[r], ranges).is_empty()
}

/// Removes exactly `[first, last]` from a list of ranges.
pub fn remove_range(ranges: &mut Vec<SeqRange>, r: SeqRange) {
    if let Some(i) = ranges.iter().position(|x| *x == r) {
        ranges.remove(i);
    }
}

/// Formats one range as `"3-7"`, or `"9"` for a single number.
pub fn range_string([a, b]: SeqRange) -> String {
    if a == b { a.to_string() } else { format!("{a}-{b}") }
}

/// Formats ranges as control records announce them.
pub fn range_strings(ranges: &[SeqRange]) -> Vec<String> {
    ranges.iter().copied().map(range_string).collect()
}

/// Parses what [`range_string`] wrote: numbers from 1, first ≤ last.
pub fn parse_range(s: &str) -> Option<SeqRange> {
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
        None => {
            let a = s.parse().ok()?;
            (a, a)
        }
    };
    (a >= 1 && a <= b).then_some([a, b])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_sets() {
        assert_eq!(normalize(vec![[5, 7], [1, 2], [3, 4], [9, 9]]), vec![[1, 7], [9, 9]]);
        assert_eq!(subtract(&[[1, 10]], &[[3, 4], [8, 12]]), vec![[1, 2], [5, 7]]);
        assert_eq!(subtract(&[[1, 3]], &[[1, 3]]), Vec::<SeqRange>::new());
        assert!(covered([1304, 1347], &[[1292, 1303], [1304, 1324], [1325, 1347]]));
        assert!(!covered([1304, 1348], &[[1304, 1324], [1325, 1347]]));
        let mut set = vec![[1, 2]];
        add_range(&mut set, [3, 5]);
        assert_eq!(set, vec![[1, 5]]);
    }

    #[test]
    fn range_text() {
        assert_eq!(range_strings(&[[3, 7], [9, 9]]), vec!["3-7", "9"]);
        assert_eq!(parse_range("3-7"), Some([3, 7]));
        assert_eq!(parse_range("9"), Some([9, 9]));
        assert_eq!(parse_range("7-3"), None);
        assert_eq!(parse_range("0"), None);
        assert_eq!(parse_range("x"), None);
    }
}
