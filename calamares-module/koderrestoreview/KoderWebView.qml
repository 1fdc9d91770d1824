/* Koder Snapshots: the web view of the restore wizard (see koderrestoreview.qml).
 * A separate file so that a missing QtWebEngine only fails this Loader, not
 * the installer page. Off-the-record profile: the session cookie the daemon
 * trades for the URL's token lives in memory only. Navigation is kept on
 * the daemon's origin (the QR code's link is for the person's phone).
 */
import QtQuick 2.15
import QtWebEngine 1.10

WebEngineView {
    id: view
    property string origin: ""

    profile: WebEngineProfile {
        offTheRecord: true
        httpCacheType: WebEngineProfile.MemoryHttpCache
    }
    settings.javascriptCanOpenWindows: false
    settings.localContentCanAccessRemoteUrls: false
    settings.pluginsEnabled: false

    onNavigationRequested: {
        var u = request.url.toString();
        if (origin && u !== "about:blank" && u.indexOf(origin + "/") !== 0 && u !== origin) {
            console.warn("koderrestoreview: blocked navigation to " + u);
            request.action = WebEngineNavigationRequest.IgnoreRequest;
        }
    }
    onNewViewRequested: console.warn("koderrestoreview: blocked a new window")
    onLoadingChanged: {
        if (loadRequest.status === WebEngineLoadRequest.LoadSucceededStatus)
            console.log("koderrestoreview: wizard loaded");
        else if (loadRequest.status === WebEngineLoadRequest.LoadFailedStatus)
            console.warn("koderrestoreview: the wizard did not load: " + loadRequest.errorString);
    }
    onRenderProcessTerminated: console.warn("koderrestoreview: the web page's process ended (" + terminationStatus + ")")
}
