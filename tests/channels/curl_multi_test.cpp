#define BOOST_TEST_MODULE curl_multi
#include "channels/http/curl_multi.hpp"
#include "channels/http/curl_util.hpp"
#include "tests/channels/test_helpers.hpp"
#include "tests/support/process.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using rappel::channels::CurlMulti;
using rappel::channels::CurlMultiOptions;
using rappel::channels::EasyPtr;
using rappel::testkit::run_until;

namespace {

// A keep-alive HTTP/1.1 server on its own thread: answers GET <path> with the path as body;
// "/hang" is never answered. Counts connections and requests.
class TestServer {
public:
    TestServer() : acceptor_(io_, tcp::endpoint(asio::ip::address_v4::loopback(), 0)) {
        acceptor_.listen(4096);
        accept();
        thread_ = std::thread([this] { io_.run(); });
    }
    ~TestServer() {
        io_.stop();
        thread_.join();
    }
    unsigned short port() const { return acceptor_.local_endpoint().port(); }
    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(port()) + path;
    }
    std::size_t connections() const { return connections_.load(); }
    std::size_t requests() const { return requests_.load(); }

private:
    struct Session : std::enable_shared_from_this<Session> {
        Session(tcp::socket s, TestServer& server) : socket(std::move(s)), owner(server) {}
        void read() {
            request = {};
            http::async_read(socket, buffer, request,
                             [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
                                 if (!ec) self->respond();
                             });
        }
        void respond() {
            ++owner.requests_;
            if (request.target() == "/hang") {
                std::lock_guard lock(owner.mu_);
                owner.hung_.push_back(shared_from_this());
                return;
            }
            response = {};
            response.version(11);
            response.result(http::status::ok);
            response.set(http::field::content_type, "text/plain");
            response.body() = std::string(request.target());
            response.keep_alive(request.keep_alive());
            response.prepare_payload();
            http::async_write(socket, response,
                              [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
                                  if (!ec && self->response.keep_alive()) self->read();
                              });
        }
        tcp::socket socket;
        TestServer& owner;
        boost::beast::flat_buffer buffer;
        http::request<http::string_body> request;
        http::response<http::string_body> response;
    };

    void accept() {
        acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
            if (ec) return;
            ++connections_;
            std::make_shared<Session>(std::move(socket), *this)->read();
            accept();
        });
    }

    asio::io_context io_;
    tcp::acceptor acceptor_;
    std::thread thread_;
    std::atomic<std::size_t> connections_{0};
    std::atomic<std::size_t> requests_{0};
    std::mutex mu_;
    std::vector<std::shared_ptr<Session>> hung_;
};

struct Fetch {
    std::string body;
    CURLcode code = CURLE_OK;
    long status = 0;
    int calls = 0;
};

std::size_t collect(char* data, std::size_t size, std::size_t n, void* userp) {
    static_cast<Fetch*>(userp)->body.append(data, size * n);
    return size * n;
}

CURL* make_get(const std::string& url, Fetch& fetch, long timeout_ms = 20000) {
    CURL* e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &collect);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &fetch);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    return e;
}


std::size_t open_fds() {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
    return n;
}

struct RaiseFdLimit {
    RaiseFdLimit() {
        rlimit rl{};
        if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            ::setrlimit(RLIMIT_NOFILE, &rl);
        }
    }
};
BOOST_TEST_GLOBAL_FIXTURE(RaiseFdLimit);

// Runs `count` GETs at once; returns the results.
std::vector<Fetch> fetch_all(CurlMulti& multi, asio::io_context& io, TestServer& server,
                             int count) {
    std::vector<Fetch> fetches(static_cast<std::size_t>(count));
    int finished = 0;
    bool inside_perform = true;
    bool inline_call = false;
    for (int i = 0; i < count; ++i) {
        auto& f = fetches[static_cast<std::size_t>(i)];
        CURL* e = make_get(server.url("/item/" + std::to_string(i)), f);
        multi.perform(e, [&f, &finished, &inside_perform, &inline_call](CURLcode code, CURL* easy) {
            if (inside_perform) inline_call = true;
            EasyPtr owned{easy};
            f.code = code;
            curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &f.status);
            ++f.calls;
            ++finished;
        });
    }
    inside_perform = false;
    BOOST_TEST(multi.active() == static_cast<std::size_t>(count));
    BOOST_TEST(run_until(io, [&] { return finished == count; }, std::chrono::seconds{60}));
    BOOST_TEST(!inline_call);
    BOOST_TEST(multi.active() == 0U);
    return fetches;
}

}  // namespace

BOOST_AUTO_TEST_CASE(five_hundred_concurrent_gets) {
    TestServer server;
    asio::io_context io;
    CurlMulti multi(io);
    const auto fetches = fetch_all(multi, io, server, 500);
    for (std::size_t i = 0; i < fetches.size(); ++i) {
        BOOST_TEST_CONTEXT("request " << i) {
            BOOST_TEST(fetches[i].calls == 1);
            BOOST_TEST(fetches[i].code == CURLE_OK);
            BOOST_TEST(fetches[i].status == 200);
            BOOST_TEST(fetches[i].body == "/item/" + std::to_string(i));
        }
    }
    BOOST_TEST(server.requests() == 500U);
}

BOOST_AUTO_TEST_CASE(host_connection_limit_queues_and_reuses) {
    TestServer server;
    asio::io_context io;
    CurlMultiOptions options;
    options.max_host_connections = 8;
    CurlMulti multi(io, options);
    const auto fetches = fetch_all(multi, io, server, 2000);
    std::size_t ok = 0;
    for (std::size_t i = 0; i < fetches.size(); ++i) {
        if (fetches[i].calls == 1 && fetches[i].code == CURLE_OK &&
            fetches[i].body == "/item/" + std::to_string(i))
            ++ok;
    }
    BOOST_TEST(ok == fetches.size());
    BOOST_TEST(server.connections() <= 8U);
    BOOST_TEST(multi.open_sockets_for_test() <= 8U);
}

BOOST_AUTO_TEST_CASE(sequential_requests_reuse_one_connection) {
    TestServer server;
    asio::io_context io;
    CurlMulti multi(io);
    constexpr int kRequests = 20;
    std::vector<Fetch> fetches(kRequests);
    int next = 0;
    std::function<void()> start = [&] {
        auto& f = fetches[static_cast<std::size_t>(next)];
        CURL* e = make_get(server.url("/seq/" + std::to_string(next)), f);
        ++next;
        multi.perform(e, [&f, &start, &next](CURLcode code, CURL* easy) {
            EasyPtr owned{easy};
            f.code = code;
            ++f.calls;
            if (next < kRequests) start();
        });
    };
    start();
    BOOST_TEST(run_until(io, [&] { return fetches.back().calls == 1; }));
    for (const auto& f : fetches) {
        BOOST_TEST(f.calls == 1);
        BOOST_TEST(f.code == CURLE_OK);
    }
    BOOST_TEST(server.connections() == 1U);
    BOOST_TEST(multi.open_sockets_for_test() == 1U);
}

BOOST_AUTO_TEST_CASE(unanswered_request_times_out) {
    TestServer server;
    asio::io_context io;
    CurlMulti multi(io);
    Fetch f;
    multi.perform(make_get(server.url("/hang"), f, 300), [&f](CURLcode code, CURL* easy) {
        EasyPtr owned{easy};
        f.code = code;
        ++f.calls;
    });
    BOOST_TEST(run_until(io, [&] { return f.calls > 0; }));
    BOOST_TEST(f.calls == 1);
    BOOST_TEST(f.code == CURLE_OPERATION_TIMEDOUT);
    BOOST_TEST(rappel::channels::curl_failure_reason(f.code) == "timeout");
}

BOOST_AUTO_TEST_CASE(refused_connection_fails_fast) {
    asio::io_context io;
    CurlMulti multi(io);
    Fetch f;
    const std::string url = "http://127.0.0.1:" + std::to_string(rappel::testkit::free_port()) + "/";
    multi.perform(make_get(url, f), [&f](CURLcode code, CURL* easy) {
        EasyPtr owned{easy};
        f.code = code;
        ++f.calls;
    });
    BOOST_TEST(run_until(io, [&] { return f.calls > 0; }));
    BOOST_TEST(f.code == CURLE_COULDNT_CONNECT);
    BOOST_TEST(multi.open_sockets_for_test() == 0U);
}

BOOST_AUTO_TEST_CASE(destructor_aborts_running_transfers_once_and_leaks_no_fd) {
    const std::size_t fds_before = open_fds();
    {
        TestServer server;
        asio::io_context io;
        Fetch hung;
        Fetch quick;
        {
            CurlMulti multi(io);
            multi.perform(make_get(server.url("/hello"), quick), [&quick](CURLcode code, CURL* easy) {
                EasyPtr owned{easy};
                quick.code = code;
                ++quick.calls;
            });
            BOOST_TEST(run_until(io, [&] { return quick.calls > 0; }));
            multi.perform(make_get(server.url("/hang"), hung), [&hung](CURLcode code, CURL* easy) {
                EasyPtr owned{easy};
                hung.code = code;
                ++hung.calls;
            });
            BOOST_TEST(run_until(io, [&] { return server.requests() == 2U; }));
            BOOST_TEST(hung.calls == 0);
        }
        BOOST_TEST(hung.calls == 1);
        BOOST_TEST(hung.code == CURLE_ABORTED_BY_CALLBACK);
        // Handlers of the destroyed multi still queued in io must be harmless.
        io.restart();
        io.poll();
        BOOST_TEST(quick.calls == 1);
    }
    BOOST_TEST(open_fds() == fds_before);
}

BOOST_AUTO_TEST_CASE(default_options_keep_a_burst_s_connections_for_the_next_one) {
    TestServer server;
    asio::io_context io;
    CurlMulti multi(io);  // as rappeld builds it
    const auto limit = static_cast<std::size_t>(CurlMultiOptions{}.max_host_connections);
    for (int round = 0; round < 3; ++round) {
        const auto fetches = fetch_all(multi, io, server, 300);
        for (const auto& f : fetches) BOOST_TEST(f.code == CURLE_OK);
    }
    BOOST_TEST(server.requests() == 900U);
    BOOST_TEST(server.connections() <= limit);
    BOOST_TEST(multi.sockets_opened() == server.connections());
}

BOOST_AUTO_TEST_CASE(a_timeout_set_while_a_later_one_is_armed_still_fires) {
    // A long transfer arms curl's timer first; a short one must still time out on time even
    // though the timer is only re-armed when the deadline moves earlier.
    TestServer server;
    asio::io_context io;
    CurlMulti multi(io);
    Fetch slow, quick;
    multi.perform(make_get(server.url("/hang"), slow, 30000), [&slow](CURLcode code, CURL* easy) {
        EasyPtr owned{easy};
        slow.code = code;
        ++slow.calls;
    });
    BOOST_TEST(run_until(io, [&] { return server.requests() == 1U; }));
    const auto started = std::chrono::steady_clock::now();
    multi.perform(make_get(server.url("/hang"), quick, 300), [&quick](CURLcode code, CURL* easy) {
        EasyPtr owned{easy};
        quick.code = code;
        ++quick.calls;
    });
    BOOST_TEST(run_until(io, [&] { return quick.calls > 0; }, std::chrono::seconds{10}));
    BOOST_TEST(quick.code == CURLE_OPERATION_TIMEDOUT);
    BOOST_TEST((std::chrono::steady_clock::now() - started < std::chrono::seconds{5}));
    BOOST_TEST(slow.calls == 0);
}

BOOST_AUTO_TEST_CASE(transfers_beyond_max_running_wait_their_turn_in_order_and_all_complete) {
    TestServer server;
    asio::io_context io;
    CurlMultiOptions options;
    options.max_running = 3;
    options.max_host_connections = 0;  // only the running cap limits connections here
    CurlMulti multi(io, options);
    const auto fetches = fetch_all(multi, io, server, 300);
    std::size_t ok = 0;
    for (std::size_t i = 0; i < fetches.size(); ++i)
        ok += fetches[i].calls == 1 && fetches[i].code == CURLE_OK && fetches[i].body == "/item/" + std::to_string(i);
    BOOST_TEST(ok == fetches.size());
    BOOST_TEST(server.connections() <= 3U);  // never more than three at once
}

BOOST_AUTO_TEST_CASE(the_destructor_aborts_waiting_transfers_too) {
    TestServer server;
    asio::io_context io;
    Fetch hung, waiting;
    {
        CurlMultiOptions options;
        options.max_running = 1;
        CurlMulti multi(io, options);
        multi.perform(make_get(server.url("/hang"), hung), [&hung](CURLcode code, CURL* easy) {
            EasyPtr owned{easy};
            hung.code = code;
            ++hung.calls;
        });
        multi.perform(make_get(server.url("/hello"), waiting), [&waiting](CURLcode code, CURL* easy) {
            EasyPtr owned{easy};
            waiting.code = code;
            ++waiting.calls;
        });
        BOOST_TEST(run_until(io, [&] { return server.requests() == 1U; }));
        BOOST_TEST(multi.active() == 2U);
    }
    BOOST_TEST(hung.calls == 1);
    BOOST_TEST(waiting.calls == 1);
    BOOST_TEST(waiting.code == CURLE_ABORTED_BY_CALLBACK);
    BOOST_TEST(server.requests() == 1U);  // the waiting one never reached the server
}

BOOST_AUTO_TEST_CASE(a_full_lane_waits_in_order_without_holding_up_another_lane) {
    TestServer server;
    asio::io_context io;
    CurlMultiOptions options;
    options.max_host_connections = 0;
    options.max_running_per_lane = 2;
    CurlMulti multi(io, options);
    const int lane_a = 0, lane_b = 0;
    Fetch hung1, hung2, queued, other;
    auto record = [](Fetch& f) {
        return [&f](CURLcode code, CURL* easy) {
            EasyPtr owned{easy};
            f.code = code;
            ++f.calls;
        };
    };
    multi.perform(make_get(server.url("/hang"), hung1, 500), record(hung1), &lane_a);
    BOOST_TEST(!multi.lane_full(&lane_a));
    multi.perform(make_get(server.url("/hang"), hung2, 500), record(hung2), &lane_a);
    BOOST_TEST(multi.lane_full(&lane_a));
    BOOST_TEST(!multi.lane_full(&lane_b));
    multi.perform(make_get(server.url("/hello"), queued), record(queued), &lane_a);
    multi.perform(make_get(server.url("/hello"), other), record(other), &lane_b);
    BOOST_TEST_REQUIRE(run_until(io, [&] { return other.calls == 1; }));
    BOOST_TEST(other.code == CURLE_OK);
    BOOST_TEST(queued.calls == 0);  // behind the two hung ones of its lane
    BOOST_TEST(server.requests() == 3U);
    BOOST_TEST_REQUIRE(run_until(io, [&] { return queued.calls == 1; }, std::chrono::seconds{10}));
    BOOST_TEST(hung1.code == CURLE_OPERATION_TIMEDOUT);
    BOOST_TEST(hung2.code == CURLE_OPERATION_TIMEDOUT);
    BOOST_TEST(queued.code == CURLE_OK);
    BOOST_TEST(!multi.lane_full(&lane_a));
}
