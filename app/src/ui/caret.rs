//! Text typed elsewhere arriving under the person's caret: a field's value is replaced
//! without moving the caret or the selection away from the text they were at.
//!
//! A remote merge changes the notes somewhere; setting the textarea's value would put the
//! caret at the end. [`shift`] maps each offset through the change instead: before the
//! changed stretch it stays, after it it moves by what was inserted or deleted, inside it
//! it goes to the end of the new text there.

/// Maps selection offsets (UTF-16 code units, as the DOM counts them) in `old` to `new`.
pub fn shift(old: &str, new: &str, offsets: [u32; 2]) -> [u32; 2] {
    let old: Vec<u16> = old.encode_utf16().collect();
    let new: Vec<u16> = new.encode_utf16().collect();
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let max_suffix = old.len().min(new.len()) - prefix;
    let suffix = old
        .iter()
        .rev()
        .zip(new.iter().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    let old_end = old.len() - suffix;
    let new_end = new.len() - suffix;
    offsets.map(|offset| {
        let offset = (offset as usize).min(old.len());
        let moved = if offset <= prefix {
            offset
        } else if offset >= old_end {
            offset - old_end + new_end
        } else {
            new_end
        };
        u32::try_from(moved).unwrap_or(u32::MAX)
    })
}

/// Sets `area`'s value to `text`, keeping the caret and selection where they were if the
/// person is in it. Does nothing if the value is already `text` (the person's own typing).
pub fn replace_value(area: &web_sys::HtmlTextAreaElement, text: &str) {
    let old = area.value();
    if old == text {
        return;
    }
    let focused = area
        .owner_document()
        .and_then(|document| document.active_element())
        .is_some_and(|active| {
            let area: &web_sys::Element = area.as_ref();
            active == *area
        });
    let selection = (area.selection_start(), area.selection_end());
    area.set_value(text);
    if let (true, (Ok(Some(start)), Ok(Some(end)))) = (focused, selection) {
        let [start, end] = shift(&old, text, [start, end]);
        let _ = area.set_selection_range(start, end);
    }
}

#[cfg(test)]
mod tests {
    use super::shift;

    #[test]
    fn the_caret_stays_with_the_text_it_was_at() {
        let old = "Eerste gesprek. Wil een bankje.";
        // Someone else adds at the end: the caret after "Eerste" stays.
        let new = "Eerste gesprek. Wil een bankje. Karim: belt terug.";
        assert_eq!(shift(old, new, [6, 6]), [6, 6]);
        // Someone else adds at the start: the caret moves along with its text.
        let new = "Karim: ja. Eerste gesprek. Wil een bankje.";
        assert_eq!(shift(old, new, [6, 15]), [17, 26]);
        // A deletion before the caret.
        let new = "Wil een bankje.";
        assert_eq!(shift(old, new, [20, 20]), [4, 4]);
        // Inside the changed stretch: the end of the new text there.
        let new = "Eerste ontmoeting. Wil een bankje.";
        assert_eq!(shift(old, new, [10, 10]), [17, 17]);
        // Offsets count UTF-16 units, as the browser does.
        assert_eq!(shift("é😀a", "xé😀a", [3, 4]), [4, 5]);
    }
}
