#include "engine/base/time_format.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace rappel {
namespace {

bool read_int(std::string_view s, std::size_t pos, std::size_t len, int& out) {
    if (pos + len > s.size()) return false;
    for (std::size_t i = pos; i < pos + len; ++i)
        if (s[i] < '0' || s[i] > '9') return false;
    auto [p, ec] = std::from_chars(s.data() + pos, s.data() + pos + len, out);
    return ec == std::errc{} && p == s.data() + pos + len;
}

// `width` decimal digits of v (0 <= v < 10^width), zero-padded.
void put_digits(char* out, unsigned v, int width) {
    for (int i = width - 1; i >= 0; --i) {
        out[i] = static_cast<char>('0' + v % 10);
        v /= 10;
    }
}

} // namespace

void write_date(char* out, std::chrono::year_month_day date) {
    const int y = std::clamp(static_cast<int>(date.year()), 0, 9999);
    put_digits(out, static_cast<unsigned>(y), 4);
    out[4] = '-';
    put_digits(out + 5, static_cast<unsigned>(date.month()), 2);
    out[7] = '-';
    put_digits(out + 8, static_cast<unsigned>(date.day()), 2);
}

std::string format_date(std::chrono::year_month_day date) {
    std::string out(kDateSize, '\0');
    write_date(out.data(), date);
    return out;
}

std::optional<std::chrono::year_month_day> parse_date(std::string_view s) {
    using namespace std::chrono;
    int y, mo, d;
    if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !read_int(s, 0, 4, y) || !read_int(s, 5, 2, mo) ||
        !read_int(s, 8, 2, d))
        return std::nullopt;
    const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok()) return std::nullopt;
    return ymd;
}

std::string format_rfc5322(std::chrono::sys_seconds t) {
    using namespace std::chrono;
    static constexpr std::string_view days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr std::string_view months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const auto day_start = floor<std::chrono::days>(t);
    const year_month_day ymd{day_start};
    const hh_mm_ss hms{t - day_start};
    return fmt::format("{}, {:02} {} {} {:02}:{:02}:{:02} +0000", days[weekday{day_start}.c_encoding()],
                       static_cast<unsigned>(ymd.day()), months[static_cast<unsigned>(ymd.month()) - 1],
                       static_cast<int>(ymd.year()), hms.hours().count(), hms.minutes().count(),
                       hms.seconds().count());
}

void write_rfc3339(char* out, TimePoint t) {
    using namespace std::chrono;
    const auto days = floor<std::chrono::days>(t);
    write_date(out, year_month_day{days});
    const hh_mm_ss hms{t - days};
    out[10] = 'T';
    put_digits(out + 11, static_cast<unsigned>(hms.hours().count()), 2);
    out[13] = ':';
    put_digits(out + 14, static_cast<unsigned>(hms.minutes().count()), 2);
    out[16] = ':';
    put_digits(out + 17, static_cast<unsigned>(hms.seconds().count()), 2);
    out[19] = '.';
    put_digits(out + 20, static_cast<unsigned>(hms.subseconds().count()), 3);
    out[23] = 'Z';
}

void append_rfc3339(std::string& out, TimePoint t) {
    const auto at = out.size();
    out.resize(at + kRfc3339Size);
    write_rfc3339(out.data() + at, t);
}

std::string format_rfc3339(TimePoint t) {
    std::string out;
    append_rfc3339(out, t);
    return out;
}

std::optional<TimePoint> parse_rfc3339(std::string_view s) {
    using namespace std::chrono;
    int y, mo, d, h, mi, sec;
    if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
        s[13] != ':' || s[16] != ':')
        return std::nullopt;
    if (!read_int(s, 0, 4, y) || !read_int(s, 5, 2, mo) || !read_int(s, 8, 2, d) ||
        !read_int(s, 11, 2, h) || !read_int(s, 14, 2, mi) || !read_int(s, 17, 2, sec))
        return std::nullopt;
    const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) return std::nullopt;
    std::size_t pos = 19;
    int millis = 0;
    if (pos < s.size() && s[pos] == '.') {
        ++pos;
        std::size_t digits = 0;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
            if (digits < 3) millis = millis * 10 + (s[pos] - '0');
            ++digits;
            ++pos;
        }
        if (digits == 0) return std::nullopt;
        for (std::size_t i = digits; i < 3; ++i) millis *= 10;
    }
    int offset_min = 0;
    if (pos == s.size()) return std::nullopt;
    if (s[pos] == 'Z' || s[pos] == 'z') {
        ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
        int oh, om;
        if (pos + 6 != s.size() || s[pos + 3] != ':' || !read_int(s, pos + 1, 2, oh) ||
            !read_int(s, pos + 4, 2, om) || oh > 23 || om > 59)
            return std::nullopt;
        offset_min = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
        pos += 6;
    } else {
        return std::nullopt;
    }
    if (pos != s.size()) return std::nullopt;
    TimePoint t = sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec} + milliseconds{millis};
    return t - minutes{offset_min};
}

} // namespace rappel
