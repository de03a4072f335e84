#pragma once
// How inserted values are cleaned, cut and escaped for each output.
#include <cstddef>
#include <string>
#include <string_view>

namespace rappel::templates {

enum class Escape {
    none,  // SMS, email text and subject: values cleaned, nothing escaped
    html,  // email HTML: & < > " ' as entities
    xml,   // voice TwiML: & < > " ' as entities (the same five; &#39; is valid XML)
};

// Appends a value as the templates insert it:
//  - dropped: C0 controls other than newline (tab included), DEL, C1 controls, the bidi
//    embedding/override/isolate controls (U+202A..U+202E, U+2066..U+2069), U+2028/U+2029 and
//    the noncharacters U+FFFE/U+FFFF; right-to-left text itself is kept as written;
//  - invalid UTF-8 becomes U+FFFD;
//  - with max_chars > 0, a value longer than max_chars characters (code points) is cut to
//    max_chars - 1 and ends with "…" (never inside a character, nor before a combining mark,
//    variation selector or zero-width joiner);
//  - then escaped for `escape`.
void append_value(std::string& out, std::string_view value, Escape escape, std::size_t max_chars = 0);

// Appends `text` with & < > " ' replaced by entities (&amp; &lt; &gt; &quot; &#39;).
void append_html_escaped(std::string& out, std::string_view text);

// Appends plain text as the body of an HTML document: escaped, one <p> per paragraph (blank
// lines separate paragraphs), <br> for single line breaks, and http:// and https:// addresses
// turned into links. The result is always balanced: <p>...</p> pairs and <a>...</a> pairs.
void append_text_as_html(std::string& out, std::string_view text);

}  // namespace rappel::templates
