/* Koder Snapshots: the installer's "Restore" page.
 *
 * Loaded by a `notesqml` instance (notesqml@koderrestoreview, see
 * koderrestoreview.conf). It shows the restore daemon's wizard (a web page
 * served on 127.0.0.1 by koder-snapshot-daemon.service) in a QtWebEngine
 * view, and moves the installer on by itself when the daemon says the
 * person confirmed a restore or chose to skip it.
 *
 *  - The daemon's URL (with its session token) is read from the file the
 *    daemon writes (`koder-snapshot daemon --url-file`), default
 *    /run/koder-snapshot/wizard-url, with XMLHttpRequest on file:// (Qt 5.15
 *    allows it, with a deprecation warning silenced by
 *    QML_XHR_ALLOW_FILE_READ=1, which the ISO's Calamares wrapper sets, as
 *    it sets QTWEBENGINE_DISABLE_SANDBOX=1: Calamares runs as root, and
 *    Chromium without that variable aborts the whole process as root).
 *    `--koder-url-file=PATH` among the process arguments overrides it
 *    (tests, debugging).
 *  - GET /api/status (Bearer token) once a second while the page is shown:
 *    {phase, confirmed, mode}. When it turns to confirmed, or to phase
 *    "skipped", the page calls ViewManager.next(). Only a change seen while
 *    the page is shown advances: coming Back to the page after confirming
 *    stays on it (so the person can change the choice); Next works as usual.
 *  - Next is always enabled (notesqml). Pressed before confirming, the
 *    installer goes on without a restore: the exec job then gets "skipped"
 *    (nothing chosen) or NOT_READY (a choice half made) from the daemon,
 *    restores nothing, never fails the installation, and leaves a note in
 *    the new system saying how to restore later.
 *  - The web view lives in KoderWebView.qml behind a Loader: without
 *    QtWebEngine (qml-module-qtwebengine not installed) the Loader fails
 *    and this page shows a plain-text fallback instead; Next still works.
 *  - The hostname the person gave on the installer's users page
 *    (GlobalStorage "hostname", read through the io.calamares.core `Global`
 *    singleton) is offered to the daemon as the default of the wizard's
 *    configure screen: POST /api/defaults {hostname} (Bearer token), when
 *    the page is shown and whenever it changes (Back to the users page).
 *
 * QML here only reads Calamares' GlobalStorage: the exec job reads
 * rootMountPoint/username itself and asks the daemon.
 */
import QtQuick 2.15
// ViewManager is a singleton of io.calamares.ui in Calamares 3.2.61 (Debian
// bookworm) and 3.3; older 3.2 releases had it in io.calamares.core.
// Importing both finds it either way.
import io.calamares.core 1.0
import io.calamares.ui 1.0

Item {
    id: page
    width: 800
    height: 600

    property string urlFile: argValue("--koder-url-file=", "/run/koder-snapshot/wizard-url")
    property string wizardUrl: ""      // http://127.0.0.1:PORT/?token=T
    property string origin: ""         // http://127.0.0.1:PORT
    property string token: ""
    property string problem: ""        // why the wizard cannot be shown (shown in the fallback)
    property string webProblem: ""     // the web view loaded but cannot show the page
    property bool active: false        // this page is the current installer page
    property bool sawPending: false    // a not-yet-decided status was seen while shown
    property bool advanced: false
    property bool decided: false       // confirmed or skipped (last status)
    property string phase: ""
    property int urlTries: 0
    property string offeredHostname: ""  // last hostname the daemon accepted (or refused as invalid)

    // ── called by Calamares' QmlViewStep on the root object ─────────────────
    function onActivate() {
        active = true;
        sawPending = false;
        advanced = false;
        if (!wizardUrl) readUrlFile();
        poll.start();
    }
    function onLeave() {
        active = false;
        poll.stop();
    }

    function argValue(prefix, fallback) {
        var args = Qt.application.arguments;
        for (var i = 0; i < args.length; i++)
            if (args[i].indexOf(prefix) === 0) return args[i].substring(prefix.length);
        return fallback;
    }

    function lang() {
        return Qt.locale().name.indexOf("pt") === 0 ? "pt-BR" : "en";
    }

    function readUrlFile() {
        var xhr = new XMLHttpRequest();
        xhr.onreadystatechange = function() {
            if (xhr.readyState !== XMLHttpRequest.DONE) return;
            var text = (xhr.responseText || "").trim();
            var m = /^(http:\/\/(?:127\.0\.0\.1|localhost):\d+)\/\?token=([A-Za-z0-9_\-.~%]+)$/.exec(text);
            if (m) {
                origin = m[1].replace("localhost", "127.0.0.1");
                token = m[2];
                wizardUrl = origin + "/?token=" + token + "&lang=" + lang();
                problem = "";
                console.log("koderrestoreview: wizard at " + origin);
            } else {
                // The daemon may still be starting: try again for a minute.
                urlTries++;
                problem = urlTries < 60 ? "starting" : "no-daemon";
                if (urlTries < 60) retryUrl.start();
            }
        };
        xhr.open("GET", "file://" + urlFile);
        xhr.send();
    }

    // The installer's hostname (users page → GlobalStorage) as the wizard's default.
    function offerHostname() {
        if (!origin) return;
        var h = "";
        try {
            h = Global.contains("hostname") ? String(Global.value("hostname") || "") : "";
        } catch (e) {
            return; // no GlobalStorage here (another host than Calamares)
        }
        if (!h || h === offeredHostname) return;
        var xhr = new XMLHttpRequest();
        xhr.onreadystatechange = function() {
            if (xhr.readyState !== XMLHttpRequest.DONE) return;
            if (xhr.status === 202 || xhr.status === 400) offeredHostname = h; // 400: not a hostname; not offered again
            if (xhr.status === 202) console.log("koderrestoreview: offered the installer's hostname " + h + " as the default");
            else console.warn("koderrestoreview: the daemon did not take the hostname " + h + ": HTTP " + xhr.status);
        };
        xhr.open("POST", origin + "/api/defaults");
        xhr.setRequestHeader("Authorization", "Bearer " + token);
        xhr.setRequestHeader("Content-Type", "application/json");
        xhr.send(JSON.stringify({ hostname: h }));
    }

    function handleStatus(s) {
        phase = s.phase || "";
        decided = s.confirmed === true || s.phase === "skipped";
        if (!decided) {
            sawPending = true;
        } else if (sawPending && active && !advanced) {
            advanced = true;
            console.log("koderrestoreview: " + (s.confirmed ? "restore confirmed" : "restore skipped") + ", going to the next page");
            ViewManager.next();
        }
    }

    Timer {
        id: retryUrl
        interval: 1000
        onTriggered: page.readUrlFile()
    }

    Timer {
        id: poll
        interval: 1000
        repeat: true
        triggeredOnStart: true
        onTriggered: {
            if (!page.origin) return;
            page.offerHostname();
            var xhr = new XMLHttpRequest();
            xhr.onreadystatechange = function() {
                if (xhr.readyState !== XMLHttpRequest.DONE || xhr.status !== 200) return;
                try { page.handleStatus(JSON.parse(xhr.responseText)); } catch (e) { console.warn("koderrestoreview: bad status: " + e); }
            };
            xhr.open("GET", page.origin + "/api/status");
            xhr.setRequestHeader("Authorization", "Bearer " + page.token);
            xhr.send();
        }
    }

    Rectangle { anchors.fill: parent; color: "#ffffff" }

    Loader {
        id: web
        anchors.fill: parent
        active: page.wizardUrl !== ""
        source: "KoderWebView.qml"
        visible: page.webProblem === ""
        onLoaded: {
            item.origin = page.origin;
            item.url = page.wizardUrl;
            // A dead page process (e.g. Chromium's sandbox refusing root) or an
            // unreachable daemon: say so instead of a blank page.
            item.renderProcessTerminated.connect(function(status, code) { page.webProblem = "the web page's process stopped (" + code + ")"; });
            item.loadingChanged.connect(function(req) { if (req.status === 3 /* LoadFailedStatus */) page.webProblem = "the wizard did not load: " + req.errorString; else if (req.status === 2 /* LoadSucceededStatus */) page.webProblem = ""; });
        }
        onStatusChanged: if (status === Loader.Error) console.warn("koderrestoreview: QtWebEngine is not available; showing the text fallback")
    }

    // Shown while there is no web view: starting, no daemon, or no QtWebEngine.
    Column {
        anchors.centerIn: parent
        width: Math.min(parent.width - 64, 560)
        spacing: 16
        visible: web.status !== Loader.Ready || page.webProblem !== ""

        Text {
            width: parent.width
            wrapMode: Text.WordWrap
            font.pixelSize: 22
            font.bold: true
            color: "#1a1a1a"
            text: page.lang() === "pt-BR" ? "Restaurar do Koder Snapshots" : "Restore from Koder Snapshots"
        }
        Text {
            id: fallbackText
            width: parent.width
            wrapMode: Text.WordWrap
            font.pixelSize: 15
            color: "#1a1a1a"
            text: {
                var pt = page.lang() === "pt-BR";
                if (web.status === Loader.Error || page.problem === "no-daemon" || page.webProblem !== "")
                    return pt
                        ? "Não é possível mostrar a restauração aqui. Clique em Próximo para instalar sem restaurar; depois da instalação, restaure com o comando koder-snapshot restore (a partir do pendrive do Koder Linux, com o sistema instalado montado)."
                        : "The restore cannot be shown here. Press Next to install without restoring; after the installation, restore with the koder-snapshot restore command (from the Koder Linux live USB, with the installed system mounted).";
                return pt ? "Iniciando o serviço de restauração…" : "Starting the restore service…";
            }
        }
        Text {
            width: parent.width
            wrapMode: Text.WordWrap
            font.pixelSize: 12
            color: "#555555"
            visible: web.status === Loader.Error || page.problem === "no-daemon" || page.webProblem !== ""
            text: web.status === Loader.Error ? "(QtWebEngine for QML is not installed: qml-module-qtwebengine)"
                : page.webProblem !== "" ? "(" + page.webProblem + ")"
                : "(no restore daemon: " + page.urlFile + " not found)"
        }
    }
}
