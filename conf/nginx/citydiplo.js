// citydiplo: content negotiation and the SPARQL guard, for nginx's JavaScript
// module (njs; Debian package libnginx-mod-http-js). See conf/nginx/README.md.
//
// ext(r)     -> $citydiplo_ext: html, ttl, jsonld, nt or rdf for an IRI, by the
//               Accept header with q-values weighed; "none" when nothing offered
//               is acceptable (answered with 406). The rule is the one of
//               tools/citydiplo/serve/negotiation.py, ported line by line; both
//               pass the table tests/data/negotiation.csv.
// sparql(r)  -> the /sparql location: answers OPTIONS, refuses other methods,
//               SPARQL Update (403) and SERVICE (400, the check of
//               tools/citydiplo/graph/query.py find_service), then hands the
//               request to the named location @citydiplo_sparql (the SPARQL
//               server behind it).

var OFFERS = [
    ["html", "text/html"],
    ["ttl", "text/turtle"],
    ["jsonld", "application/ld+json"],
    ["nt", "application/n-triples"],
    ["rdf", "application/rdf+xml"],
];
var ALIASES = {"application/xhtml+xml": "text/html", "application/json": "application/ld+json"};
var NUMBER = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/;

function parseAccept(header) {
    var ranges = [];
    var parts = (header || "").split(",");
    for (var i = 0; i < parts.length; i++) {
        var bits = parts[i].split(";").map(function (b) { return b.trim(); });
        var media = bits[0].toLowerCase();
        if (!media) {
            continue;
        }
        var q = 1;
        for (var j = 1; j < bits.length; j++) {
            var eq = bits[j].indexOf("=");
            var key = (eq < 0 ? bits[j] : bits[j].slice(0, eq)).trim().toLowerCase();
            var value = eq < 0 ? "" : bits[j].slice(eq + 1).trim();
            if (key === "q") {
                q = NUMBER.test(value) ? Math.min(1, parseFloat(value)) : 1;
            }
        }
        ranges.push([ALIASES[media] || media, q]);
    }
    return ranges;
}

function quality(ranges, media) {
    var kind = media.split("/")[0] + "/*";
    var best = 0, bestRank = -1;
    for (var i = 0; i < ranges.length; i++) {
        var candidate = ranges[i][0];
        var rank = candidate === media ? 2 : candidate === kind ? 1 : candidate === "*/*" ? 0 : -1;
        if (rank > bestRank) {
            best = ranges[i][1];
            bestRank = rank;
        }
    }
    return bestRank >= 0 ? best : 0;
}

function negotiate(header, offers) {
    if (!offers.length) {
        return null;
    }
    var ranges = parseAccept(header);
    if (!ranges.length) {
        return offers[0];
    }
    var best = null, bestQ = 0;
    for (var i = 0; i < offers.length; i++) {
        var q = quality(ranges, offers[i]);
        if (q > bestQ) {
            best = offers[i];
            bestQ = q;
        }
    }
    return best;
}

function ext(r) {
    var chosen = negotiate(r.headersIn.Accept, OFFERS.map(function (o) { return o[1]; }));
    for (var i = 0; i < OFFERS.length; i++) {
        if (OFFERS[i][1] === chosen) {
            return OFFERS[i][0];
        }
    }
    return "none";
}

// ------------------------------------------------------------------ SERVICE
// Comments, strings, IRIs, variables and prefixed names cannot be the keyword;
// only a bare word can (the same tokens as find_service in Python).
var TOKEN = new RegExp(
    "(#[^\\n\\r]*)"
    + "|(\"\"\"(?:[^\"\\\\]|\\\\[\\s\\S]|\"(?!\"\"))*(?:\"\"\"|$(?![\\s\\S]))"
    + "|'''(?:[^'\\\\]|\\\\[\\s\\S]|'(?!''))*(?:'''|$(?![\\s\\S]))"
    + "|\"(?:[^\"\\\\\\n\\r]|\\\\[\\s\\S])*(?:\"|$)"
    + "|'(?:[^'\\\\\\n\\r]|\\\\[\\s\\S])*(?:'|$))"
    + "|(<[^<>\"{}|^`\\\\\\x00-\\x20]*>)"
    + "|([?$][^\\s(){}\\[\\],;.<>=!|&+*/^\"'#]*)"
    + "|([^\\s(){}\\[\\],;<>=!|&+*/^\"'#?$]+)"
    + "|([\\s\\S])",
    "gm"
);
var ESCAPE = /\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})/g;

function unescape(text) {
    return text.replace(ESCAPE, function (all, short, long) {
        var code = parseInt(short || long, 16);
        return code <= 0x10FFFF && !(code >= 0xD800 && code <= 0xDFFF) ? String.fromCodePoint(code) : all;
    });
}

function serviceLine(text) {
    TOKEN.lastIndex = 0;
    var match;
    while ((match = TOKEN.exec(text)) !== null) {
        var word = match[5];
        if (word !== undefined && word.replace(/\.+$/, "").toLowerCase() === "service") {
            return text.slice(0, match.index).split("\n").length;
        }
    }
    return null;
}

function findService(text) {
    var line = serviceLine(text);
    if (line === null && text.indexOf("\\") >= 0) {
        line = serviceLine(unescape(text));
    }
    return line;
}

// ------------------------------------------------------------------- SPARQL
var ALLOW = "GET, HEAD, POST, OPTIONS";

function parseForm(text, params) {
    if (!text) {
        return params;
    }
    var pairs = text.split("&");
    for (var i = 0; i < pairs.length; i++) {
        if (!pairs[i]) {
            continue;
        }
        var eq = pairs[i].indexOf("=");
        var key = eq < 0 ? pairs[i] : pairs[i].slice(0, eq);
        var value = eq < 0 ? "" : pairs[i].slice(eq + 1);
        key = decodeURIComponent(key.replace(/\+/g, " "));
        value = decodeURIComponent(value.replace(/\+/g, " "));
        (params[key] = params[key] || []).push(value);
    }
    return params;
}

function answer(r, status, message, cors) {
    r.headersOut["Content-Type"] = "text/plain; charset=utf-8";
    if (cors) {
        r.headersOut["Access-Control-Allow-Origin"] = "*";
    }
    r.return(status, status + " " + message + "\n");
}

function sparql(r) {
    if (r.method === "OPTIONS") {
        r.headersOut.Allow = ALLOW;
        r.headersOut["Access-Control-Allow-Origin"] = "*";
        r.headersOut["Access-Control-Allow-Methods"] = ALLOW;
        r.headersOut["Access-Control-Allow-Headers"] = "Accept, Content-Type";
        r.headersOut["Access-Control-Max-Age"] = "86400";
        r.return(204);
        return;
    }
    if (r.method !== "GET" && r.method !== "HEAD" && r.method !== "POST") {
        r.headersOut.Allow = ALLOW;
        answer(r, 405, "this endpoint is read-only", false);
        return;
    }
    var params = {};
    try {
        parseForm(r.variables.args || "", params);
        if (r.method === "POST") {
            var media = (r.headersIn["Content-Type"] || "").split(";")[0].trim().toLowerCase();
            var body = r.requestText;
            if (body === undefined) {
                // the body was not kept in memory (over client_body_buffer_size): it cannot be checked
                answer(r, 413, "the request body is too large", true);
                return;
            }
            if (media === "application/sparql-update") {
                answer(r, 403, "this endpoint is read-only: SPARQL Update is not accepted", false);
                return;
            } else if (media === "application/x-www-form-urlencoded") {
                parseForm(body, params);
            } else if (media === "application/sparql-query") {
                (params.query = params.query || []).push(body);
            } else {
                answer(r, 415, "unsupported content type '" + media + "': send application/sparql-query "
                       + "or application/x-www-form-urlencoded", true);
                return;
            }
        }
    } catch (e) {
        answer(r, 400, "the request is not valid percent-encoded UTF-8", true);
        return;
    }
    if (params.update || params["using-graph-uri"] || params["using-named-graph-uri"]) {
        answer(r, 403, "this endpoint is read-only: SPARQL Update is not accepted", false);
        return;
    }
    var queries = params.query || [];
    if (queries.length > 1) {
        answer(r, 400, "give exactly one query parameter", true);
        return;
    }
    if (queries.length === 1) {
        var line = findService(queries[0]);
        if (line !== null) {
            answer(r, 400, "line " + line + ": SERVICE (federated query) is not allowed: "
                   + "this endpoint answers from its own graph and never fetches another endpoint", true);
            return;
        }
    }
    r.internalRedirect("@citydiplo_sparql");
}

export default {ext, sparql, negotiate, findService};
