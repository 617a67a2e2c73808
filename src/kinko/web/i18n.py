"""Japanese first, English second: templates and handlers write the Japanese text, and
``translate`` gives the English one when the customer switched language.

Every Japanese string shown through ``_()`` must have an entry in ``EN`` (a test checks).
"""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("ja", "en")
LANG_COOKIE = "kinko_lang"


class Phrase(str):
    """A Japanese text with named parts filled in (``あと{remaining}回…``): as a ``str`` it
    is the filled Japanese; ``translate`` looks the English up by the unfilled text and
    fills it the same way, translating each part that is text. ``{help_desk}`` is always
    the bank's help desk (``HELP_DESK``)."""

    template: str
    parts: dict[str, object]

    def __new__(cls, template: str, **parts: object) -> Phrase:
        parts = {"help_desk": HELP_DESK, **parts}
        made = super().__new__(cls, template.format_map(parts))
        made.template = template
        made.parts = parts
        return made


#: The bank's help desk, named once: the footer of every screen and each message that
#: sends the customer to the bank (a locked password or token, a suspended token).
HELP_DESK = "当金庫インターネットバンキングヘルプデスク 0120-000-000 (平日 9:00〜17:00)"
#: The footer of every screen.
CONTACT = Phrase("お問い合わせ: {help_desk}")

EN: dict[str, str] = {
    # layout
    "インターネットバンキング": "Internet Banking",
    "English": "English",
    "日本語": "日本語",
    "ログアウト": "Log out",
    "ホーム": "Home",
    "振込": "Transfer",
    "収納サービス": "Bill payment",
    "ワンタイムパスワード設定": "One-time password settings",
    "ワンタイムパスワード履歴": "One-time password history",
    "メニュー": "Menu",
    "お問い合わせ: 当金庫インターネットバンキングヘルプデスク 0120-000-000 (平日 9:00〜17:00)":
        "Contact: internet banking help desk 0120-000-000 (weekdays 9:00–17:00)",
    # login
    "ログイン": "Log in",
    "契約者ID": "Contract ID",
    "ログインパスワード": "Login password",
    "10桁の数字": "10 digits",
    "ワンタイムパスワード": "One-time password",
    "ワンタイムパスワードをお使いのお客さま": "For customers using one-time passwords",
    "利用開始": "Start using",
    "利用中止": "Stop using",
    "交換": "Exchange",
    "ログイン時のワンタイムパスワード認証": "One-time password at login",
    "ソフトウェアトークンに表示されている6桁のワンタイムパスワードを入力してください。":
        "Enter the 6-digit one-time password shown by your software token.",
    "ログインしました。": "You are logged in.",
    "短時間に多くの試行があったため、受付を一時的に制限しています。"
    "しばらく時間をおいてから、もう一度お試しください。":
        "There have been too many attempts in a short time, so we are not accepting more "
        "for now. Please wait a while and try again.",
    "ログアウトしました。": "You have logged out.",
    "一定時間操作がなかったため、ログアウトしました。もう一度ログインしてください。":
        "You were logged out after a period of inactivity. Please log in again.",
    "ログインしてください。": "Please log in.",
    "次へ": "Next",
    "登録": "Register",
    "停止": "Stop",
    "実行": "Execute",
    "戻る": "Back",
    "ログイン画面へ戻る": "Back to the login screen",
    "ホームへ戻る": "Back to home",
    # the database is away (503) or a request failed (500): web/errors.py
    "トップページへ戻る": "Back to the top page",
    "職員コンソールへ戻る": "Back to the staff console",
    "ただいまご利用いただけません": "Temporarily unavailable",
    "システムを一時的にご利用いただけない状態です。ご迷惑をおかけして申し訳ございません。"
    "しばらく時間をおいてから、もう一度お試しください。":
        "The service is temporarily unavailable. We apologise for the inconvenience. "
        "Please wait a little and try again.",
    "お手続きの途中でこの画面が表示された場合は、お手続きが完了していないことがあります。"
    "ご利用再開後に、お取引の結果をご確認ください。":
        "If this page appeared in the middle of a procedure, it may not have been "
        "completed. Please check the result of your transaction once the service is back.",
    "エラーが発生しました": "An error occurred",
    "申し訳ございません。処理中にエラーが発生しました。しばらくしてからもう一度お試しください。"
    "解決しない場合は、当金庫までお問い合わせください。":
        "We are sorry: an error occurred while processing your request. Please try again "
        "later. If the problem persists, please contact the bank.",
    "中止する": "Cancel",
    # steps
    "手順": "Step",
    "契約者ID・ログインパスワードの入力": "Contract ID and login password",
    "シリアル番号・ワンタイムパスワードの入力": "Serial number and one-time password",
    "ログイン時のワンタイムパスワード認証・確認用パスワードの入力":
        "One-time password at login, and confirmation password",
    "ワンタイムパスワード・確認用パスワードの入力": "One-time password and confirmation password",
    "現在お使いのトークンのワンタイムパスワードの入力":
        "One-time password of the token in use now",
    "新しいトークンのシリアル番号・ワンタイムパスワードの入力":
        "Serial number and one-time password of the new token",
    "完了": "Done",
    "ワンタイムパスワード利用開始": "Start using one-time passwords",
    "ワンタイムパスワード利用中止": "Stop using one-time passwords",
    "ワンタイムパスワード交換": "Exchange the token",
    "シリアル番号": "Serial number",
    "12桁の数字 (トークンのワンタイムパスワードの下に表示)":
        "12 digits (shown under the one-time password in the app)",
    "確認用パスワード": "Confirmation password",
    "する": "Required",
    "しない": "Not required",
    "ログイン時にもワンタイムパスワードを入力する": "Also ask for the one-time password at login",
    "ワンタイムパスワードの利用を開始しました。": "You have started using one-time passwords.",
    "これからはお振込などのお取引の際にワンタイムパスワードが必要です。":
        "From now on, transfers and other transactions need the one-time password.",
    "ログイン時にもワンタイムパスワードが必要です。":
        "Logging in also needs the one-time password.",
    "ワンタイムパスワードの利用を中止しました。": "You have stopped using one-time passwords.",
    "これからはお取引の際に確認用パスワードをご利用ください。":
        "Transactions now use the confirmation password again.",
    "ソフトウェアトークンの交換が完了しました。": "The token has been exchanged.",
    "これからは新しいトークンのワンタイムパスワードをご利用ください。":
        "From now on, use the one-time passwords of the new token.",
    "新しいスマートフォンにアプリをインストールし、表示されたシリアル番号とワンタイムパスワードを次の画面で入力します。":
        "Install the app on the new smartphone; you will enter the serial number and "
        "one-time password it shows on a later screen.",
    "交換が完了するまで、現在のトークンは引き続きご利用いただけます。":
        "The current token keeps working until the exchange is complete.",
    # the phone app (/app): its page, and its card in 利用開始 and 交換 (web/phone_app.py)
    "ワンタイムパスワードアプリ": "One-time password app",
    "シリアル番号とワンタイムパスワードは、当金庫のワンタイムパスワードアプリに表示されます。"
    "スマートフォンでこのQRコードを読み取るか、次のリンクを開いて「トークンを発行する」を押してください。":
        "The serial number and one-time password are shown by the bank's one-time password "
        "app. Scan this QR code with your smartphone, or open the link below, and press "
        "“Issue a token”.",
    "ワンタイムパスワードアプリのQRコード": "QR code of the one-time password app",
    "ワンタイムパスワードアプリを開く": "Open the one-time password app",
    "ブラウザのメニューから「ホーム画面に追加」を選ぶと、次回からはアプリとして開けます。":
        "Choose “Add to Home Screen” in the browser's menu to open it as an app next time.",
    "このアプリを使うには、ブラウザのJavaScriptを有効にしてください。":
        "To use this app, please turn on JavaScript in your browser.",
    "読み込んでいます…": "Loading…",
    # another authenticator app
    "他の認証アプリ (Google Authenticator など) を使う":
        "Use another authenticator app (Google Authenticator etc.)",
    "他の認証アプリの登録": "Register another authenticator app",
    "お使いの認証アプリ (Google Authenticator など) で次のQRコードを読み取ってください。":
        "Scan this QR code with your authenticator app (Google Authenticator etc.).",
    "QRコード": "QR code",
    "読み取れない場合は、次のキーを手入力してください (時間ベース、6桁、30秒)。":
        "If it cannot be scanned, enter this key by hand (time-based, 6 digits, 30 s).",
    "認証アプリに表示された6桁のワンタイムパスワードを入力してください。":
        "Enter the 6-digit one-time password your authenticator app shows.",
    # flow messages
    "操作の順番が正しくないため、最初からやり直してください。":
        "The steps were not followed in order. Please start again.",
    "一定時間操作がなかったため、最初からやり直してください。":
        "The procedure timed out after a period of inactivity. Please start again.",
    "この手続きは完了しています。": "This procedure is already complete.",
    "画面の有効期限が切れました。もう一度操作してください。":
        "This page has expired. Please try again.",
    # errors
    "契約者IDまたはログインパスワードが正しくありません。":
        "The contract ID or login password is not correct.",
    "ワンタイムパスワードが正しくありません。": "The one-time password is not correct.",
    "このワンタイムパスワードは使用済みです。次に表示されるワンタイムパスワードを入力してください。":
        "This one-time password was already used. Please enter the next one.",
    "入力内容が正しくありません。": "Some input is not correct.",
    "ワンタイムパスワードまたは確認用パスワードが正しくありません。":
        "The one-time password or the confirmation password is not correct.",
    "確認用パスワードが正しくありません。": "The confirmation password is not correct.",
    "ご本人確認ができないため、お手続きを停止しました。当金庫までお問い合わせください。":
        "We could not confirm your identity, so the procedure was stopped. "
        "Please contact the bank.",
    "パスワードがロックされています。当金庫までお問い合わせください。":
        "The password is locked. Please contact the bank.",
    "ワンタイムパスワードがロックされています。当金庫までお問い合わせください。":
        "The one-time password is locked. Please contact the bank.",
    "ワンタイムパスワードが利用停止中です。当金庫までお問い合わせください。":
        "The one-time password is suspended. Please contact the bank.",
    "このトークンは利用できません。当金庫までお問い合わせください。":
        "This token cannot be used. Please contact the bank.",
    "トークンの有効期限が切れています。アプリでトークンを作り直してください。":
        "The token has expired. Please create a new token in the app.",
    "このシリアル番号のトークンは登録できません。シリアル番号をご確認ください。":
        "No token with this serial number can be registered. Please check the number.",
    "すでにワンタイムパスワードをご利用中です。": "One-time passwords are already in use.",
    "ワンタイムパスワードをご利用ではありません。": "One-time passwords are not in use.",
    "受付できませんでした。もう一度最初からお試しください。":
        "The request could not be accepted. Please start again.",
    "契約者IDは10桁の数字で入力してください。": "Enter the contract ID as 10 digits.",
    "シリアル番号は12桁の数字で入力してください。": "Enter the serial number as 12 digits.",
    "シリアル番号に誤りがあります。ご確認ください。":
        "The serial number is not valid. Please check it.",
    "ワンタイムパスワードは6桁の数字で入力してください。":
        "Enter the one-time password as 6 digits.",
    "入力してください。": "Please fill this in.",
    "選択してください。": "Please choose one.",
    "ページが見つかりません。": "Page not found.",
    "エラー": "Error",
    # home / banking
    "口座一覧": "Accounts",
    "支店": "Branch",
    "科目": "Type",
    "口座番号": "Account number",
    "残高": "Balance",
    "入出金明細": "Recent transactions",
    "日時": "Date",
    "摘要": "Description",
    "お支払金額": "Paid out",
    "お預入金額": "Paid in",
    "明細はありません。": "No transactions.",
    "円": " yen",
    "ようこそ": "Welcome",
    "さま": "",
    "ワンタイムパスワード: 利用中": "One-time password: in use",
    "ワンタイムパスワード: 未利用": "One-time password: not in use",
    "お振込": "Transfer",
    "振込内容の入力": "Transfer details",
    "振込内容の確認": "Confirm the transfer",
    "振込完了": "Transfer complete",
    "支払口座": "From account",
    "振込先金融機関コード": "Payee bank code",
    "4桁の数字": "4 digits",
    "振込先支店番号": "Payee branch code",
    "3桁の数字": "3 digits",
    "振込先科目": "Payee account type",
    "普通": "Ordinary",
    "当座": "Current",
    "貯蓄": "Savings",
    "振込先口座番号": "Payee account number",
    "7桁の数字": "7 digits",
    "受取人名 (カナ)": "Payee name (kana)",
    "振込金額": "Amount",
    "振込手数料": "Fee",
    "お引出し合計": "Total debit",
    "振込先": "Payee",
    "受付番号": "Receipt number",
    "受付日時": "Accepted at",
    "上記の内容でよろしければ、ワンタイムパスワードを入力して「実行」を押してください。":
        "If the details are correct, enter the one-time password and press Execute.",
    "上記の内容でよろしければ、確認用パスワードを入力して「実行」を押してください。":
        "If the details are correct, enter the confirmation password and press Execute.",
    "お振込を受け付けました。": "The transfer has been accepted.",
    "収納サービス (ペイジー)": "Bill payment (Pay-easy)",
    "払込内容の入力": "Payment details",
    "払込内容の確認": "Confirm the payment",
    "払込完了": "Payment complete",
    "収納機関番号": "Biller number",
    "5桁の数字": "5 digits",
    "お客さま番号": "Customer number",
    "確認番号": "Confirmation number",
    "払込金額": "Amount",
    "収納機関": "Biller",
    "お支払いを受け付けました。": "The payment has been accepted.",
    "残高が不足しています。": "The balance is not sufficient.",
    "振込先が見つかりません。": "The payee was not found.",
    "収納機関番号が見つかりません。": "The biller number was not found.",
    # banking field messages (kinko.banking, shown next to the input)
    "金融機関コードは4桁の数字で入力してください": "Enter the bank code as 4 digits",
    "支店コードは3桁の数字で入力してください": "Enter the branch code as 3 digits",
    "口座番号は7桁の数字で入力してください": "Enter the account number as 7 digits",
    "収納機関番号は5桁の数字で入力してください": "Enter the biller number as 5 digits",
    "お客様番号は20桁以内の数字で入力してください":
        "Enter the customer number as up to 20 digits",
    "確認番号は16桁以内の数字で入力してください":
        "Enter the confirmation number as up to 16 digits",
    "出金口座を選択してください": "Choose the account to pay from",
    "預金種目を選択してください": "Choose the account type",
    "金額は数字で入力してください": "Enter the amount in digits",
    "金額を入力してください": "Enter the amount",
    "金額は1円以上10,000,000円以下で入力してください":
        "Enter an amount from 1 to 10,000,000 yen",
    "受取人名を入力してください": "Enter the payee's name",
    "受取人名はカナ・英大文字・数字・記号（）．－／で入力してください":
        "Enter the payee's name in kana, capital letters, digits and （）．－／",
    "受取人名は半角30文字以内で入力してください":
        "The payee's name must be at most 30 half-width characters",
    "残高が不足しています": "The balance is not sufficient",
    "この金融機関へのお振込はお取り扱いできません": "Transfers to this bank are not available",
    "この収納機関番号はお取り扱いできません": "This biller number is not available",
    "お振込先の口座が見つかりません": "The payee account was not found",
    "出金口座と同じ口座にはお振込できません": "You cannot transfer to the paying account",
    "1日あたりの振込限度額を超えています": "This passes your daily transfer limit",
    "振込限度額は0円以上10,000,000円以下で入力してください":
        "Enter a transfer limit from 0 to 10,000,000 yen",
    "登録できる振込先の数を超えています。不要な振込先を削除してください":
        "You have saved as many payees as you can. Please delete one you no longer need",
    # registered payees, the bank search and the daily transfer limit (transfer_settings.py)
    "登録振込先": "Saved payees",
    "登録振込先から選ぶ": "Choose a saved payee",
    "登録振込先の管理": "Manage saved payees",
    "登録振込先の削除": "Delete a saved payee",
    "お振込先を選んで「振込」を押すと、振込内容の入力に進みます。":
        "Choose a payee and press “Transfer” to enter the transfer.",
    "登録されている振込先はありません。お振込の完了画面から登録できます。":
        "You have no saved payees. You can save one on a transfer's completion screen.",
    "新しい振込先へ振込": "Transfer to a new payee",
    "削除": "Delete",
    "削除する": "Delete",
    "次の振込先を削除します。よろしければ「削除する」を押してください。":
        "This payee will be deleted. Press “Delete” to go ahead.",
    "振込先を登録しました。": "The payee has been saved.",
    "振込先を削除しました。": "The payee has been deleted.",
    "このお振込先を登録すると、次回から選ぶだけでお振込できます。":
        "Save this payee to transfer to it next time just by choosing it.",
    "この振込先を登録する": "Save this payee",
    "受取人名 (口座名義)": "Payee name (account holder)",
    "当金庫の口座あてのお振込は入力不要です（口座名義を確認画面に表示します）":
        "Not needed for an account at our bank (the confirmation shows the account holder)",
    "金融機関の検索": "Find a bank",
    "支店の検索": "Find a branch",
    "金融機関名・金融機関コード": "Bank name or bank code",
    "支店名・支店コード": "Branch name or branch code",
    "名前の一部（ひらがな・カタカナ・漢字）またはコードの先頭を入力してください。":
        "Enter part of the name (in hiragana, katakana or kanji) or the start of the code.",
    "検索結果": "Results",
    "該当するものはありません。": "Nothing matches.",
    "金融機関を選び直す": "Choose another bank",
    "振込内容の入力へ戻る": "Back to the transfer",
    "金融機関・支店を検索": "Find a bank or branch",
    "振込限度額": "Transfer limit",
    "振込限度額の変更": "Change the transfer limit",
    "現在の振込限度額 (1日あたり)": "Current transfer limit (per day)",
    "変更後の振込限度額 (1日あたり)": "New transfer limit (per day)",
    "本日のお振込額": "Transferred today",
    "本日の振込可能額": "Left to transfer today",
    "振込限度額は、日本時間の0時から24時までのお振込の合計額の上限です。"
    "引き下げはそのまま、引き上げはワンタイムパスワード（ご利用でない方は確認用パスワード）"
    "の入力で変更できます。":
        "The transfer limit caps the total of your transfers in one day (midnight to "
        "midnight, Japan time). You can lower it as you like; raising it needs your one-time "
        "password (or, without one, your confirmation password).",
    "0円から10,000,000円まで。0円にするとお振込ができなくなります。":
        "From 0 to 10,000,000 yen. At 0 yen you cannot make transfers.",
    "引き上げる場合のみ入力してください。引き下げには不要です。":
        "Needed only to raise the limit, not to lower it.",
    "振込限度額を引き上げるには、ワンタイムパスワードを入力してください。":
        "Enter your one-time password to raise the transfer limit.",
    "振込限度額を引き上げるには、確認用パスワードを入力してください。":
        "Enter your confirmation password to raise the transfer limit.",
    "振込限度額を変更しました。": "Your transfer limit has been changed.",
    # staff console
    '1つ目のワンタイムパスワード':
        'First one-time password',
    'CSVで出力':
        'Export CSV',
    'OTP誤入力回数':
        'Wrong OTP count',
    '「その他」の内容を入力してください。':
        'Describe the "other" reason.',
    'お客さま情報':
        'Customer',
    'お客さま検索':
        'Find a customer',
    'この操作を行う権限がありません。':
        'Your role does not allow this action.',
    'ご自身の申請は承認できません':
        'You cannot approve your own request',
    'その他':
        'Other',
    'その他の内容':
        'Other reason',
    'サインアウト':
        'Sign out',
    'サインイン':
        'Sign in',
    'サインインしてください。':
        'Please sign in.',
    'トークンのロックを解除しました。':
        'The token has been unlocked.',
    'トークンの利用を再開しました。':
        'The token has been resumed.',
    'トークンはありません。':
        'No tokens.',
    'トークンを利用停止にしました。':
        'The token has been suspended.',
    'トークン履歴':
        'Token history',
    'パスワード':
        'Password',
    'パスワードのロック解除':
        'Password unlock',
    'パスワードのロック解除 (承認が必要)':
        'Password unlock (needs approval)',
    'パスワードのロック解除を申請しました。別の責任者の承認を待っています。':
        'Password unlock requested; it waits for another supervisor to approve.',
    'パスワードの種類を選択してください。':
        'Choose which password.',
    'メールアドレス':
        'E-mail',
    'ロック中':
        'Locked',
    'ロック解除を申請':
        'Request unlock',
    'ワンタイムパスワードが一致しません (2つの連続したコードを入力してください)。':
        'The one-time passwords do not match (enter two consecutive codes).',
    '一定時間操作がなかったため、サインアウトしました。':
        'You were signed out after a period of inactivity.',
    '使用済みのワンタイムパスワードです。':
        'This one-time password was already used.',
    '内容':
        'Request',
    '利用中':
        'In use',
    '利用停止 (紛失届)':
        'Suspend (lost phone)',
    '利用再開':
        'Resume',
    '却下':
        'Reject',
    '回':
        ' times',
    '失効':
        'Revoke',
    '失効の申請':
        'Request revocation',
    '失効を申請しました。別の責任者の承認を待っています。':
        'Revocation requested; it waits for another supervisor to approve.',
    '契約者ID (10桁) またはシリアル番号 (12桁)':
        'Contract ID (10 digits) or serial number (12 digits)',
    '実行者':
        'Actor',
    '対象が見つかりません。':
        'Not found.',
    'このお客さまのトークンではないため、操作できません。':
        'This is not a token of this customer, so the action cannot be taken.',
    '承認して実行':
        'Approve and carry out',
    '承認待ち':
        'Approvals',
    '承認待ちの申請':
        'Requests waiting for approval',
    '承認待ちの申請はありません。':
        'No requests are waiting.',
    '改ざんが検出されました。':
        'Tampering detected.',
    '改ざんは検出されませんでした。':
        'No tampering detected.',
    '改ざん検査を実行':
        'Check for tampering',
    '時刻補正 (再同期)':
        'Resynchronise',
    '時刻補正を行いました。':
        'The token has been resynchronised.',
    '最後のOTP利用':
        'Last OTP use',
    '最近の監査イベント':
        'Recent audit events',
    '未利用 (確認用パスワード)':
        'Not in use (confirmation password)',
    '検索':
        'Search',
    '状態':
        'State',
    '現在のトークンの状態では、この操作はできません。':
        "This action is not possible in the token's current state.",
    '理由':
        'Reason',
    '理由を選択してください。':
        'Choose a reason.',
    '申請が見つかりません。':
        'Request not found.',
    '申請を却下しました。':
        'The request has been rejected.',
    '申請を承認し、実行しました。':
        'The request has been approved and carried out.',
    '申請日時':
        'Requested at',
    '申請番号':
        'Request',
    '申請者':
        'Requested by',
    '監査ログ':
        'Audit trail',
    '監査ログをすべて見る':
        'See the whole audit trail',
    '種類':
        'Kind',
    '終了':
        'Ended',
    '終了日':
        'Until',
    '経緯':
        'Lifecycle',
    '経路':
        'Channel',
    '絞り込み':
        'Filter',
    '続けて表示された2つ目':
        'The next code shown',
    '職員ID':
        'Staff ID',
    '職員ID、パスワードまたはワンタイムパスワードが正しくありません。':
        'The staff ID, password or one-time password is not correct.',
    '職員コンソール':
        'Staff console',
    '職員サインイン':
        'Staff sign-in',
    '該当するお客さまが見つかりません。':
        'No matching customer.',
    '該当するイベントはありません。':
        'No matching events.',
    '誤入力':
        'Wrong entries',
    '責任者が承認します':
        'A supervisor approves',
    '開始日':
        'From',
    '紛失届':
        'Lost phone reported',
    'アプリ削除':
        'App uninstalled',
    '誤入力ロック':
        'Locked by wrong entries',
    '本人申出':
        "At the customer's request",
    'オペレーター':
        'Operator',
    '責任者':
        'Supervisor',
    'システム': 'System',
    '利用停止中': 'Suspended',
    '他の認証アプリ': 'Other authenticator app',
    'コンソール': 'Console',
    '発行': 'Issued',
    'アプリ': 'App',
    '失敗': 'Failure',
    '未登録': 'Unregistered',
    'デモ': 'Demo',
    '職員用': 'Staff',
    '成功': 'Success',
    # the help desk, the lock state and the warning before it (web/errors.py, home, confirm)
    HELP_DESK: "our internet banking help desk, 0120-000-000 (weekdays 9:00–17:00)",
    "お問い合わせ: {help_desk}": "Contact: {help_desk}",
    "ワンタイムパスワードが正しくありません。あと{remaining}回間違えると利用できなくなります。":
        "The one-time password is not correct. After {remaining} more wrong attempt(s) it "
        "can no longer be used.",
    "ワンタイムパスワードがロックされています。{help_desk}までお問い合わせください。":
        "Your one-time password is locked. Please contact {help_desk}.",
    "ワンタイムパスワードが利用停止中です。{help_desk}までお問い合わせください。":
        "Your one-time password has been suspended by the bank. Please contact {help_desk}.",
    "ログインパスワードがロックされています。{help_desk}までお問い合わせください。":
        "Your login password is locked. Please contact {help_desk}.",
    "確認用パスワードがロックされています。{help_desk}までお問い合わせください。":
        "Your confirmation password is locked. Please contact {help_desk}.",
    "パスワードがロックされています。{help_desk}までお問い合わせください。":
        "Your password is locked. Please contact {help_desk}.",
    "ご本人確認ができないため、お手続きを停止しました。{help_desk}までお問い合わせください。":
        "We could not confirm your identity, so this procedure has been stopped. Please "
        "contact {help_desk}.",
    "ワンタイムパスワード: ロック中": "One-time password: locked",
    "ワンタイムパスワード: 利用停止中": "One-time password: suspended",
    "ロックが解除されるまで、お振込・収納サービスはご利用いただけません。":
        "Until the lock is released, transfers and bill payments cannot be made.",
    "利用停止が解除されるまで、お振込・収納サービスはご利用いただけません。":
        "Until the suspension is lifted, transfers and bill payments cannot be made.",
    "前回ログイン日時": "Previous login",
    "今回が初めてのログインです。": "This is your first login.",
    # 利用中止: the confirmation step (web/customer/stop.py)
    "キャンセル": "Cancel",
    "利用中止の確認": "Confirm stopping",
    "ワンタイムパスワードの利用を中止すると、お振込などのお取引には確認用パスワードを使います。":
        "Once you stop using the one-time password, transfers and other transactions use "
        "the confirmation password.",
    "確認用パスワードは、ワンタイムパスワードより安全性が低くなります。"
    "スマートフォンを機種変更する場合は、利用中止ではなく「交換」をご利用ください。":
        "The confirmation password protects you less than the one-time password. If you "
        "are changing your smartphone, use \"Exchange\" instead of stopping.",
    "利用中止の手続きを続けますか。": "Do you want to continue stopping?",
    "中止手続きへ進む": "Continue to stop",
    "「停止」を押すと、ワンタイムパスワードの利用を中止します。":
        "Pressing \"Stop\" stops your use of the one-time password.",
    # the flows' steps and done screens
    "利用中止の注意事項の確認": "Check the notes on stopping",
    "ご登録のシリアル番号": "Registered serial number",
    "利用を中止したシリアル番号": "Serial number no longer in use",
    "新しいトークンのシリアル番号": "Serial number of the new token",
    "次の画面では、現在お使いのトークンに表示されているワンタイムパスワードを入力します。"
    "その次の画面で、新しいトークンのシリアル番号とワンタイムパスワードを入力します。":
        "On the next screen, enter the one-time password shown by the token you use now. "
        "On the screen after it, enter the serial number and one-time password of the new "
        "token.",
    "新しいスマートフォンにアプリをインストールしてから、お手続きを始めてください。":
        "Install the app on your new smartphone before you start.",
    # settings: what する / しない mean (web/customer/settings.py, enroll.py)
    "する (ログイン時にもワンタイムパスワードを入力する)":
        "Yes (also enter the one-time password when logging in)",
    "しない (ログイン時はログインパスワードのみ)": "No (only the login password when logging in)",
    "ログイン時のワンタイムパスワード認証 (現在の設定)": "One-time password at login (current)",
    "お振込などのお取引には、この設定にかかわらずワンタイムパスワードが必要です。":
        "Transfers and other transactions need the one-time password whatever this setting.",
    # the OTP history: each use and refusal (web/customer/settings.py)
    "ワンタイムパスワード認証": "One-time password used",
    "認証失敗": "Refused",
    "お取引": "Transaction",
    "ワンタイムパスワードの誤り": "Wrong one-time password",
    "利用できないトークン": "Token not usable",
    "時刻補正 (当金庫)": "Clock resynchronised (bank)",
    # settings / history
    "現在の設定": "Current setting",
    "変更後の設定": "New setting",
    "変更する": "Change",
    "設定を変更しました。": "The setting has been changed.",
    "ワンタイムパスワードをご利用の場合に設定できます。":
        "This can be set while one-time passwords are in use.",
    "操作": "Event",
    "結果": "Result",
    "履歴はありません。": "No history.",
    "登録 (利用開始)": "Registered (start)",
    "登録 (交換)": "Registered (exchange)",
    "交換により停止": "Replaced by exchange",
    "ロック": "Locked",
    "ロック解除": "Unlocked",
    "利用停止 (当金庫)": "Suspended (bank)",
    "利用再開 (当金庫)": "Resumed (bank)",
    "失効 (当金庫)": "Revoked (bank)",
    "ログイン時認証の変更": "Login OTP changed",
    "同じ申請がすでに承認待ちです。": "The same request is already waiting for approval.",
    "この申請はすでに処理されています。": "This request has already been decided.",
    "トークンの状態が変わりました。画面を更新してから、もう一度操作してください。":
        "The token changed meanwhile. Reload the page and try again.",
    "再同期できるのは利用中のトークンだけです。": "Only an active token can be resynchronised.",
    "ログインパスワードはロックされていません。": "The login password is not locked.",
    "確認用パスワードはロックされていません。": "The confirmation password is not locked.",
    "ほかの操作と重なったため、実行できませんでした。画面を更新して状態を確認してください。":
        "This clashed with another change and was not done. Reload the page to see the state.",
    "振込先の登録": "Payee saved",
    "振込先の削除": "Payee deleted",
    # layout: the skip link (base.html, console/base.html)
    "本文へスキップ": "Skip to main content",
    # the staff console: audit actions and reasons (web/pages.py ACTION_LABELS)
    "お客さま登録": "Customer added",
    "ログインパスワードの確認": "Login password checked",
    "確認用パスワードの確認": "Confirmation password checked",
    "パスワードのロック": "Password locked",
    "ログイン完了": "Logged in",
    "取引の認証": "Transaction authorised",
    "トークン発行": "Token issued",
    "ワンタイムパスワードの確認": "One-time password checked",
    "トークン登録": "Token registered",
    "トークン利用中止": "Token stopped by the customer",
    "トークンのロック": "Token locked",
    "トークンのロック解除": "Token unlocked",
    "トークン利用停止": "Token suspended",
    "トークン利用再開": "Token resumed",
    "トークン失効": "Token revoked",
    "トークン期限切れ": "Token expired",
    "職員登録": "Staff member added",
    "承認の申請": "Approval requested",
    "申請の承認": "Request approved",
    "申請の却下": "Request rejected",
    "暗号鍵の更新": "Keys rotated",
    "APIクライアント登録": "API client added",
    "APIクライアントの秘密情報更新": "API client secret rotated",
    "APIクライアント失効": "API client revoked",
    "APIクライアントの拒否": "API client refused",
    "APIによる照会": "Read through the API",
    "未登録のまま期限切れ": "Expired unregistered",
    "ワンタイムパスワード誤り": "Wrong one-time password",
    "使用済みのワンタイムパスワード": "One-time password already used",
    "期限切れ": "Expired",
    "パスワード誤り": "Wrong password",
    "パスワードロック中": "Password locked",
    "契約者IDなし": "No such contract ID",
    "他のお客さまのトークン": "Another customer's token",
    "試行回数の制限": "Too many attempts",
    "取引": "Transaction",
    # the staff console: a revocation already waiting for approval
    "このトークンの失効は申請済みで、責任者の承認を待っています。":
        "Revocation of this token has been requested and is waiting for a supervisor's "
        "approval.",
}


def translate(text: str, lang: str) -> str:
    if lang != "en":
        return text
    if isinstance(text, Phrase):
        parts = {name: translate(part, lang) if isinstance(part, str) else part
                 for name, part in text.parts.items()}
        return EN.get(text.template, text.template).format_map(parts)
    return EN.get(text, text)


def translator(lang: str) -> Callable[[str], str]:
    return lambda text: translate(text, lang)
